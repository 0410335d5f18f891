import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { serveTestPages, type TestPages } from './browser-pages.js';
import { PsClient } from './ps-client.js';

/**
 * Epic's player page as Heliograph serves it (`pixelStreaming.playerPage`: the published frontend
 * UI of a UE line, bundled at build time), opened in headless Chromium with nothing else: the page
 * connects to its own host, plays the canvas test streamer, and the `layerPreference` the UI sends
 * after the offer reaches the streamer with the player's id.
 */
type StreamerState = { committedId: string | null; players: string[]; layerPreferences: Array<Record<string, unknown>> };
const streamerState = (page: Page) => page.evaluate(() => (window as unknown as { streamer: StreamerState }).streamer);

let chrome: TestBrowser;
let pages: TestPages;

beforeAll(async () => {
  pages = await serveTestPages();
  chrome = await launchChromium(['--disable-features=WebRtcHideLocalIpsWithMdns']);
});

afterAll(async () => {
  await chrome?.close();
  await pages?.close();
});

describe.each([
  { ueLine: '5.7', playerIdInForwards: 'keep' },
  { ueLine: '5.6', playerIdInForwards: 'strip' },
  { ueLine: '5.5', playerIdInForwards: 'strip' },
] as const)('the served player page, UE $ueLine', ({ ueLine, playerIdInForwards }) => {
  let server: TestServer;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    server = await startServer({
      pixelStreaming: { enabled: true, streamerPort: 0, sfuPort: 0, playerIdInForwards, playerPage: { enabled: true, ueLine, path: '/player.html' } },
    });
  });
  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()));
    await server?.close();
  });

  async function open(url: string): Promise<Page> {
    const context = await chrome.browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error(`[${ueLine} ${url}] page error:`, err));
    await page.goto(url);
    return page;
  }

  it('plays the stream, and the UI’s layerPreference reaches the streamer with the player’s id', async () => {
    const streamerUrl = `ws://127.0.0.1:${server.app.pixelStreaming!.ports.streamer}`;
    const streamer = await open(`${pages.url}/streamer.html?ss=${encodeURIComponent(streamerUrl)}&id=PageStreamer`);
    await streamer.waitForFunction(() => (window as unknown as { streamer: StreamerState }).streamer.committedId === 'PageStreamer');

    // Only Epic's URL settings: the page finds the signalling server on its own host and port.
    const player = await open(`${server.url}/player.html?StreamerId=PageStreamer&AutoConnect=true&AutoPlayVideo=true&StartVideoMuted=true`);
    await videoPlays(player);
    const { players, layerPreferences } = await streamerState(streamer);
    expect(players).toEqual([expect.stringMatching(/^Player\d+$/)]);
    expect(layerPreferences[0]).toEqual({ type: 'layerPreference', spatialLayer: 0, temporalLayer: 0, playerId: players[0] });
    expect(server.app.pixelStreaming!.drops.invalid).toBe(0);
    // The page's handle, as on Epic's page.
    expect(await player.evaluate(() => typeof (window as unknown as { pixelStreaming?: object }).pixelStreaming)).toBe('object');
  });
});

describe('the served player page with player authentication', () => {
  let server: TestServer;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    server = await startServer({ pixelStreaming: { enabled: true, streamerPort: 0, sfuPort: 0, auth: { players: true } } });
  });
  afterAll(async () => {
    await context?.close();
    await server?.close();
  });

  it('connects with the token in Epic’s `ss` URL setting', async () => {
    context = await chrome.browser.newContext();
    const streamerUrl = `ws://127.0.0.1:${server.app.pixelStreaming!.ports.streamer}`;
    const streamer = await context.newPage();
    await streamer.goto(`${pages.url}/streamer.html?ss=${encodeURIComponent(streamerUrl)}&id=Guarded`);
    await streamer.waitForFunction(() => (window as unknown as { streamer: StreamerState }).streamer.committedId === 'Guarded');
    const player = await context.newPage();
    // Without a token the upgrade is refused, as for any player.
    expect(await PsClient.refusal(`${server.url.replace(/^http/, 'ws')}/`)).toBe(401);
    const token = await server.token('viewer', [{ room: 'ps:*', join: true }]);
    const ss = `${server.url.replace(/^http/, 'ws')}/?token=${token}`;
    await player.goto(`${server.url}/player.html?StreamerId=Guarded&AutoConnect=true&StartVideoMuted=true&ss=${encodeURIComponent(ss)}`);
    await videoPlays(player);
    expect((await streamerState(streamer)).players).toHaveLength(1);
  });
});

/** Waits until the page's video has shown at least one frame of the stream. */
async function videoPlays(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const video = document.querySelector('video');
      return video !== null && video.getVideoPlaybackQuality().totalVideoFrames > 0;
    },
    null,
    { timeout: 30_000 },
  );
}
