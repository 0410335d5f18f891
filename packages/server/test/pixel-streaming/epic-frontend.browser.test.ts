import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { serveTestPages, type TestPages } from './browser-pages.js';

/**
 * Epic's published frontend library, unmodified, in headless Chromium against Heliograph, with a
 * canvas `captureStream` streamer of our own standing in for Unreal (§9.3 of the reference).
 */
const HERE = fileURLToPath(new URL('./browser/', import.meta.url));
const SERVER_PACKAGE = fileURLToPath(new URL('../../', import.meta.url));
const FRONTENDS = [
  { version: 'ue5.7', pkg: '@epicgames-ps/lib-pixelstreamingfrontend-ue5.7', playerIdInForwards: 'keep' },
  { version: 'ue5.5', pkg: '@epicgames-ps/lib-pixelstreamingfrontend-ue5.5', playerIdInForwards: 'strip' },
] as const;

let assets: string;
let pages: TestPages;
let pagesUrl: string;
let chrome: TestBrowser;

beforeAll(async () => {
  assets = mkdtempSync(join(tmpdir(), 'heliograph-ps-frontend-'));
  const entry = readFileSync(join(HERE, 'player-entry.js'), 'utf8');
  for (const { version, pkg } of FRONTENDS) {
    await build({
      stdin: { contents: entry.replace('FRONTEND_PACKAGE', pkg), resolveDir: SERVER_PACKAGE, loader: 'js' },
      bundle: true,
      format: 'iife',
      outfile: join(assets, `player-${version}.js`),
      logLevel: 'silent',
    });
  }
  pages = await serveTestPages((path) => {
    const version = /^\/player-(ue5\.\d)\.html$/.exec(path)?.[1];
    if (version) {
      return `<!doctype html><div id="player" style="width:320px;height:240px"></div><script src="/player-${version}.js"></script>`;
    }
    return /^\/player-ue5\.\d\.js$/.test(path) ? readFileSync(join(assets, path.slice(1))) : undefined;
  });
  pagesUrl = pages.url;
  chrome = await launchChromium(['--disable-features=WebRtcHideLocalIpsWithMdns']);
});

afterAll(async () => {
  await chrome?.close();
  await pages?.close();
  rmSync(assets, { recursive: true, force: true });
});

describe.each(FRONTENDS)('Epic frontend $version', ({ version, playerIdInForwards }) => {
  let server: TestServer;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    server = await startServer({ pixelStreaming: { enabled: true, streamerPort: 0, sfuPort: 0, playerIdInForwards } });
  });
  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()));
    await server?.close();
  });

  async function open(path: string): Promise<Page> {
    const context = await chrome.browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error(`[${version} ${path}] page error:`, err));
    await page.goto(`${pagesUrl}${path}`);
    return page;
  }

  async function startPlayer(): Promise<Page> {
    const page = await open(`/player-${version}.html`);
    await page.evaluate(
      (ss) => (window as unknown as { startPlayer(ss: string, id: string): void }).startPlayer(ss, 'BrowserStreamer'),
      server.url.replace(/^http/, 'ws'),
    );
    await page.waitForFunction(() => (window as unknown as { player: { events: string[] } }).player.events.includes('playStream'), null, { timeout: 30_000 });
    return page;
  }

  const frames = (page: Page) => page.evaluate(() => (window as unknown as { framesDecoded(): number }).framesDecoded());
  const framesAbove = (page: Page, n: number) =>
    page.waitForFunction((min) => (window as unknown as { framesDecoded(): number }).framesDecoded() > min, n, { timeout: 30_000 });

  it('plays the stream in two players; a kick ends one and the other keeps playing', async () => {
    const streamerPort = server.app.pixelStreaming!.ports.streamer;
    const streamer = await open(`/streamer.html?ss=${encodeURIComponent(`ws://127.0.0.1:${streamerPort}`)}&id=BrowserStreamer`);
    await streamer.waitForFunction(() => (window as unknown as { streamer: { committedId: string | null } }).streamer.committedId === 'BrowserStreamer');

    const first = await startPlayer();
    await framesAbove(first, 0);
    const second = await startPlayer();
    await framesAbove(second, 0);

    const events = await first.evaluate(() => (window as unknown as { player: { events: string[] } }).player.events);
    expect(events).toEqual(expect.arrayContaining(['streamerListMessage', 'webRtcConnected', 'dataChannelOpen', 'videoInitialized', 'playStream']));
    const players = await streamer.evaluate(() => (window as unknown as { streamer: { players: string[] } }).streamer.players);
    expect(players).toEqual(['Player0', 'Player1']);
    if (playerIdInForwards === 'keep') {
      // UE 5.7 frontends read their id from the forwarded offer.
      const id = await first.evaluate(
        () => (window as unknown as { player: { ps: { webRtcController: { playerId?: string } } } }).player.ps.webRtcController.playerId,
      );
      expect(id).toBe('Player0');
    }
    expect(server.app.rooms.get('ps:BrowserStreamer')?.size).toBe(3);

    await streamer.evaluate(() => (window as unknown as { kick(id: string, reason: string): void }).kick('Player0', 'kicked by the test'));
    await first.waitForFunction(() => (window as unknown as { player: { events: string[] } }).player.events.includes('webRtcDisconnected'));
    await streamer.waitForFunction(() => (window as unknown as { streamer: { disconnected: string[] } }).streamer.disconnected.includes('Player0'));
    const before = await frames(second);
    await framesAbove(second, before + 10);
    expect(server.app.pixelStreaming!.signalling.players.has('Player0')).toBe(false);
    expect(server.app.rooms.get('ps:BrowserStreamer')?.size).toBe(2);
  });
});
