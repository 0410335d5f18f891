import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from '../helpers/browser.js';
import { TestClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { audioPackets, createOrJoin, expectVideoFrom, framesDecoded, logIn, newUser, screenshot, type DemoUser } from './demo-pages.js';

/**
 * The demo app in real Chromium with fake camera and microphone: real sign-ups, real WebSocket
 * signalling through the server, real peer connections (inside the test's network namespace).
 */
let server: TestServer;
let chrome: TestBrowser;

beforeAll(async () => {
  server = await startServer();
  chrome = await launchChromium();
});
afterAll(async () => {
  await chrome?.close();
  await server?.close();
});

async function signUpAndJoin(username: string, room: string): Promise<DemoUser> {
  const user = await newUser(chrome.browser, server.url, username, { viewport: { width: 1200, height: 800 } });
  await createOrJoin(user.page, room);
  return user;
}

describe('demo app: real calls in a real browser', () => {
  let alice: DemoUser;
  let bob: DemoUser;
  let carol: DemoUser;

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

    await screenshot(carol.page, 'demo-room-mesh');

    await bob.page.click('#leave');
    await alice.page.waitForSelector(`#messages li:has-text("${bob.name} left")`);
    await carol.page.waitForSelector(`#messages li:has-text("${bob.name} left")`);
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
    await screenshot(alice.page, 'demo-room-after-reconnect');
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
    expect(await alice.page.textContent('#toggle-mic .label')).toBe('Unmute');
    expect(await alice.page.getAttribute('#toggle-cam', 'aria-pressed')).toBe('true');
    await alice.page.click('#toggle-mic');
    expect(await enabled()).toEqual({ audio: true, video: false });
  });

  it('tells the user when the room is taken over from another window', async () => {
    const context: BrowserContext = alice.page.context();
    const second = await context.newPage();
    await second.goto(`${server.url}/#/room/standup`);
    // A new tab has its own session storage: log in again as alice, then enter the room.
    await logIn(second, 'alice');
    await second.waitForSelector('#join:not([disabled])');
    await second.click('#join');
    await second.waitForSelector('#conn[data-state="open"]');
    await alice.page.waitForSelector('#ended:not([hidden]):has-text("another window")');
    expect(await alice.page.getAttribute('#conn', 'data-state')).toBe('closed');
    await second.close();
  });

  it('a full room waits on the pre-join screen until a seat frees', async () => {
    const occupant = await TestClient.open(server.wsUrl, await server.token('occupant'));
    await occupant.ok('room.join', { room: 'tiny', create: { maxPeers: 1 } });
    const page = carol.page;
    await page.click('#leave');
    await page.waitForSelector('#view-lobby:not([hidden])');
    await page.fill('#create-form input[name=room]', 'tiny');
    await page.click('#create-form button');
    await page.waitForSelector('#room-seats[data-full="true"]');
    expect(await page.isDisabled('#join')).toBe(true);
    await occupant.ok('room.leave', {});
    await page.waitForSelector('#join:not([disabled])', { timeout: 10_000 });
    await page.click('#join');
    await page.waitForSelector('#conn[data-state="open"]');
    await occupant.close();
  });
});
