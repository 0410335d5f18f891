import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from '../helpers/browser.js';
import { startCutProxy, type CutProxy } from '../helpers/cut-proxy.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * A call in real Chromium survives signalling blips: the SDK resumes its session and keeps its
 * RTCPeerConnection. Bob's page reaches the server through a TCP proxy the test resets, so both
 * the page and the server see the socket die without a close frame, as when a phone changes
 * networks: once during call setup, while candidates trickle, and once mid-call.
 */
const ARTEFACTS = fileURLToPath(new URL('../../../../test-results/', import.meta.url));

let server: TestServer;
let proxy: CutProxy;
let chrome: TestBrowser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  server = await startServer();
  // 150 ms each way on bob's path: call setup takes long enough to be cut in its middle.
  proxy = await startCutProxy(new URL(server.url).host, { delayMs: 150 });
  chrome = await launchChromium();
});
afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close()));
  await chrome?.close();
  await proxy?.close();
  await server?.close();
});

/** What each page records, read with `page.evaluate`. */
interface Probe {
  offers: number;
  resumed: number;
  rejoined: number;
  pcs: number;
  states: string[];
}

/** Opens a page on `base` that connects with the SDK, joins `room` and calls everyone there. */
async function callPage(base: string, user: string, room: string): Promise<Page> {
  const context = await chrome.browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[${user}] page error:`, err));
  await page.goto(`${base}/sdk/heliograph-client.js`);
  const token = await server.token(user);
  // A string, not a function: vitest would rewrite the dynamic import() of a function it compiled.
  await page.evaluate(`(async () => {
    const sdk = await import('/sdk/heliograph-client.js');
    const probe = { offers: 0, resumed: 0, rejoined: 0, pcs: 0, states: [] };
    window.probe = probe;
    const Original = RTCPeerConnection;
    // Counts peer connections made, to show that a resume keeps the one it has.
    window.RTCPeerConnection = function (...args) {
      probe.pcs++;
      return new Original(...args);
    };
    window.RTCPeerConnection.prototype = Original.prototype;
    const token = ${JSON.stringify(token)};
    const client = new sdk.HeliographClient({ url: 'ws://' + location.host + '/ws', token: () => token });
    client.on('signal', ({ signal }) => {
      if (signal && signal.description && signal.description.type === 'offer') {
        probe.offers++;
      }
    });
    client.on('resumed', () => probe.resumed++);
    client.on('rejoined', () => probe.rejoined++);
    client.on('state', (state) => probe.states.push(state));
    await client.connect();
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    const calls = new sdk.CallManager(client, { localStream: stream });
    window.calls = calls;
    const joined = await client.join({ room: ${JSON.stringify(room)} });
    calls.start(joined.peers, joined.iceServers);
  })()`);
  return page;
}

const probe = (page: Page): Promise<Probe> => page.evaluate(() => (window as unknown as { probe: Probe }).probe);

/** Video frames decoded and the connection state of the page's one call. */
function media(page: Page): Promise<{ frames: number; state: string }> {
  return page.evaluate(async () => {
    const calls = (window as unknown as { calls: { calls: Map<string, { pc: RTCPeerConnection }> } }).calls.calls;
    let frames = 0;
    let state = 'none';
    for (const call of calls.values()) {
      state = call.pc.connectionState;
      const stats = await call.pc.getStats();
      stats.forEach((s: { type: string; kind?: string; framesDecoded?: number }) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          frames += s.framesDecoded ?? 0;
        }
      });
    }
    return { frames, state };
  });
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a call in Chromium across signalling blips', () => {
  it('connects although the socket is cut during setup, and keeps its media without renegotiating after a mid-call cut', async () => {
    const alice = await callPage(server.url, 'alice', 'blips');
    const bob = await callPage(`http://${proxy.address}`, 'bob', 'blips');
    // During setup: bob's offer and first candidates are on their way, alice's answer not back yet.
    await new Promise((r) => setTimeout(r, 200));
    proxy.reset();
    const atCut = await media(bob);
    // It really was during setup: bob's peer connection was not connected yet.
    expect(atCut.state).not.toBe('connected');
    await until(async () => (await probe(bob)).resumed >= 1, 'bob to resume after the cut during setup');
    for (const page of [alice, bob]) {
      await until(async () => (await media(page)).frames > 30, 'video to decode on both sides');
    }
    const before = { alice: await probe(alice), bob: await probe(bob), frames: (await media(alice)).frames };

    // Mid-call.
    proxy.reset();
    await until(async () => (await probe(bob)).resumed >= 2, 'bob to resume after the mid-call cut');
    await new Promise((r) => setTimeout(r, 2_000));
    const after = { alice: await probe(alice), bob: await probe(bob), media: await media(alice), bobMedia: await media(bob) };

    mkdirSync(ARTEFACTS, { recursive: true });
    await bob.screenshot({ path: `${ARTEFACTS}resume-bob.png` });
    expect(after.media.state).toBe('connected');
    expect(after.bobMedia.state).toBe('connected');
    expect(after.media.frames).toBeGreaterThan(before.frames + 20);
    // No renegotiation, no new peer connection, no rejoin for the mid-call cut.
    expect(after.alice.offers).toBe(before.alice.offers);
    expect(after.bob.offers).toBe(before.bob.offers);
    expect([after.alice.pcs, after.bob.pcs]).toEqual([before.alice.pcs, before.bob.pcs]);
    expect([after.alice.rejoined, after.bob.rejoined]).toEqual([0, 0]);
  });
});
