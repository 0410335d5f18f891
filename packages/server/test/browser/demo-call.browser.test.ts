import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from '../helpers/browser.js';
import { TestClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * The demo app in real Chromium with fake camera and microphone: real sign-ups, real WebSocket
 * signalling through the server, real peer connections (inside the test's network namespace).
 */
const ARTEFACTS = fileURLToPath(new URL('../../../../test-results/', import.meta.url));

let server: TestServer;
let chrome: TestBrowser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  server = await startServer();
  chrome = await launchChromium();
});
afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close()));
  await chrome?.close();
  await server?.close();
});

interface User {
  page: Page;
  /** The page's current signalling socket, routed through the test so it can be cut. */
  socket: () => WebSocketRoute | undefined;
}

async function signUpAndJoin(username: string, room: string): Promise<User> {
  const context = await chrome.browser.newContext({ viewport: { width: 1200, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  let socket: WebSocketRoute | undefined;
  await page.routeWebSocket(/\/ws\?/, (ws) => {
    socket = ws;
    ws.connectToServer();
  });
  page.on('pageerror', (err) => console.error(`[${username}] page error:`, err));
  await page.goto(server.url);
  await page.click('#tab-signup');
  await page.fill('#auth-form input[name=username]', username);
  await page.fill('#auth-form input[name=displayName]', username[0]!.toUpperCase() + username.slice(1));
  await page.fill('#auth-form input[name=password]', `${username}-password`);
  await page.click('#auth-submit');
  await page.waitForSelector('#view-lobby:not([hidden])');
  await page.fill('#create-form input[name=room]', room);
  await page.click('#create-form button');
  await page.waitForSelector('#conn[data-state="open"]');
  return { page, socket: () => socket };
}

/** Video frames decoded per remote peer, from each call's getStats(). */
function framesDecoded(page: Page): Promise<Record<string, number>> {
  return page.evaluate(async () => {
    const demo = (window as unknown as { heliographDemo?: { calls: { calls: Map<string, { pc: RTCPeerConnection }> } } }).heliographDemo;
    const out: Record<string, number> = {};
    for (const [peerId, call] of demo?.calls.calls ?? []) {
      const stats = await call.pc.getStats();
      stats.forEach((s: { type: string; kind?: string; framesDecoded?: number }) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          out[peerId] = (out[peerId] ?? 0) + (s.framesDecoded ?? 0);
        }
      });
    }
    return out;
  });
}

/** Audio packets received per remote peer: the microphones reach the other side too. */
function audioPackets(page: Page): Promise<number[]> {
  return page.evaluate(async () => {
    const demo = (window as unknown as { heliographDemo?: { calls: { calls: Map<string, { pc: RTCPeerConnection }> } } }).heliographDemo;
    const out: number[] = [];
    for (const call of demo?.calls.calls.values() ?? []) {
      const stats = await call.pc.getStats();
      stats.forEach((s: { type: string; kind?: string; packetsReceived?: number }) => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio') {
          out.push(s.packetsReceived ?? 0);
        }
      });
    }
    return out;
  });
}

/** Waits until the page decodes video from exactly `peers` remote peers; returns the counts. */
async function expectVideoFrom(page: Page, peers: number): Promise<Record<string, number>> {
  let frames: Record<string, number> = {};
  await expect
    .poll(
      async () => {
        frames = await framesDecoded(page);
        const values = Object.values(frames);
        return values.length === peers && values.every((n) => n > 0);
      },
      { timeout: 30_000, interval: 250 },
    )
    .toBe(true);
  return frames;
}

describe('demo app: real calls in a real browser', () => {
  let alice: User;
  let bob: User;
  let carol: User;

  it('two users sign up, join one room, see each other and chat', async () => {
    alice = await signUpAndJoin('alice', 'standup');
    bob = await signUpAndJoin('bob', 'standup');
    await expectVideoFrom(alice.page, 1);
    await expectVideoFrom(bob.page, 1);
    await expect.poll(async () => (await audioPackets(alice.page)).every((n) => n > 0) && (await audioPackets(bob.page)).length === 1).toBe(true);
    await expect.poll(async () => (await audioPackets(bob.page))[0] ?? 0).toBeGreaterThan(0);

    await alice.page.fill('#chat-form input[name=text]', 'hello from alice');
    await alice.page.click('#chat-form button');
    await bob.page.waitForSelector('#messages li:has-text("hello from alice")');
    expect(await bob.page.textContent('#messages')).toContain('Alice');
  });

  it('a third joins (mesh of three); one leaves, and the others go on', async () => {
    carol = await signUpAndJoin('carol', 'standup');
    await expectVideoFrom(carol.page, 2);
    await expectVideoFrom(alice.page, 2);
    await expectVideoFrom(bob.page, 2);

    mkdirSync(ARTEFACTS, { recursive: true });
    await carol.page.screenshot({ path: `${ARTEFACTS}demo-room-mesh.png` });

    await bob.page.click('#leave');
    await alice.page.waitForSelector('#messages li:has-text("Bob left")');
    await carol.page.waitForSelector('#messages li:has-text("Bob left")');
    const before = await expectVideoFrom(alice.page, 1);
    const carolId = Object.keys(before)[0]!;
    await expect.poll(async () => (await framesDecoded(alice.page))[carolId] ?? 0, { timeout: 15_000 }).toBeGreaterThan(before[carolId]! + 10);
    expect(await alice.page.locator('.tile').count()).toBe(2);
  });

  it('a dropped signalling socket reconnects, rejoins, and the call is re-established', async () => {
    const cut = alice.socket();
    expect(cut).toBeDefined();
    await cut!.close({ code: 1011, reason: 'network cut by the test' });
    await alice.page.waitForSelector('#conn[data-state="reconnecting"]');
    await alice.page.waitForSelector('#conn[data-state="open"]');
    await alice.page.waitForSelector('#messages li:has-text("Reconnected")');
    expect(alice.socket()).not.toBe(cut);
    await expectVideoFrom(alice.page, 1);
    await expectVideoFrom(carol.page, 1);
    await alice.page.screenshot({ path: `${ARTEFACTS}demo-room-after-reconnect.png` });
  });

  it('mutes and unmutes the microphone and camera', async () => {
    const enabled = () =>
      alice.page.evaluate(() => {
        const stream = (window as unknown as { heliographDemo: { stream: MediaStream } }).heliographDemo.stream;
        return { audio: stream.getAudioTracks()[0]?.enabled, video: stream.getVideoTracks()[0]?.enabled };
      });
    expect(await enabled()).toEqual({ audio: true, video: true });
    await alice.page.click('#toggle-mic');
    await alice.page.click('#toggle-cam');
    expect(await enabled()).toEqual({ audio: false, video: false });
    expect(await alice.page.textContent('#toggle-mic')).toBe('Unmute mic');
    expect(await alice.page.getAttribute('#toggle-cam', 'aria-pressed')).toBe('true');
    await alice.page.click('#toggle-mic');
    expect(await enabled()).toEqual({ audio: true, video: false });
  });

  it('tells the user when the room is taken over from another window', async () => {
    const context = alice.page.context();
    const second = await context.newPage();
    await second.goto(`${server.url}/#/room/standup`);
    // A new tab has its own session storage: log in again as alice, then enter the room.
    await second.fill('#auth-form input[name=username]', 'alice');
    await second.fill('#auth-form input[name=password]', 'alice-password');
    await second.click('#auth-submit');
    await second.waitForSelector('#conn[data-state="open"]');
    await alice.page.waitForSelector('#notice:has-text("another window")');
    expect(await alice.page.getAttribute('#conn', 'data-state')).toBe('closed');
    await second.close();
  });

  it('says so when the room is full, and stays in the lobby', async () => {
    const occupant = await TestClient.open(server.wsUrl, await server.token('occupant'));
    await occupant.ok('room.join', { room: 'tiny', create: { maxPeers: 1 } });
    const page = carol.page;
    await page.click('#leave');
    await page.waitForSelector('#view-lobby:not([hidden])');
    await page.fill('#create-form input[name=room]', 'tiny');
    await page.click('#create-form button');
    await page.waitForSelector('#notice:has-text("That room is full.")');
    expect(await page.isVisible('#view-lobby')).toBe(true);
    await occupant.close();
  });
});
