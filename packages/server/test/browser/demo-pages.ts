import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContextOptions, Page, WebSocketRoute } from 'playwright-core';
import { expect } from 'vitest';

/** The demo app driven like a person would, for the real-browser tests. */

/** Screenshots for people to look at, kept by CI with the test results. */
export const ARTEFACTS = fileURLToPath(new URL('../../../../test-results/', import.meta.url));

export async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  mkdirSync(ARTEFACTS, { recursive: true });
  await videosPainted(page);
  await page.screenshot({ path: `${ARTEFACTS}${name}.png`, fullPage });
}

/** Waits (a few seconds at most) until every playing video has painted a few frames. */
async function videosPainted(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const videos = [...document.querySelectorAll('video')].filter((v) => v.srcObject && v.checkVisibility());
    const frames = (video: HTMLVideoElement, left: number): Promise<void> =>
      left === 0 ? Promise.resolve() : new Promise((resolve) => video.requestVideoFrameCallback(() => resolve(frames(video, left - 1))));
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 3000));
    await Promise.race([Promise.all(videos.map((v) => frames(v, 5))), timeout]);
  });
}

export interface DemoUser {
  page: Page;
  username: string;
  /** The display name: the username with a capital, and a surname for two-letter initials. */
  name: string;
  /** The page's current signalling socket, routed through the test so it can be cut. */
  socket: () => WebSocketRoute | undefined;
}

/** A new browser context (its own storage) on the demo, its socket routed through the test. */
export async function openDemo(
  browser: Browser,
  url: string,
  username: string,
  options: BrowserContextOptions = {},
): Promise<{ page: Page; socket: () => WebSocketRoute | undefined }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', ...options });
  const page = await context.newPage();
  let socket: WebSocketRoute | undefined;
  await page.routeWebSocket(/\/ws\?/, (ws) => {
    socket = ws;
    ws.connectToServer();
  });
  page.on('pageerror', (err) => console.error(`[${username}] page error:`, err));
  await page.goto(url);
  return { page, socket: () => socket };
}

/** Signs up through the form (the page shows the lobby afterwards). */
export async function signUp(page: Page, username: string, name: string): Promise<void> {
  await page.click('#tab-signup');
  await page.fill('#auth-form input[name=username]', username);
  await page.fill('#auth-form input[name=displayName]', name);
  await page.fill('#auth-form input[name=password]', `${username}-password`);
  await page.click('#auth-submit');
}

export async function logIn(page: Page, username: string): Promise<void> {
  await page.fill('#auth-form input[name=username]', username);
  await page.fill('#auth-form input[name=password]', `${username}-password`);
  await page.click('#auth-submit');
}

export async function newUser(browser: Browser, url: string, username: string, options: BrowserContextOptions = {}): Promise<DemoUser> {
  const { page, socket } = await openDemo(browser, url, username, options);
  const name = `${username[0]!.toUpperCase()}${username.slice(1)} Example`;
  await signUp(page, username, name);
  await page.waitForSelector('#view-lobby:not([hidden])');
  return { page, username, name, socket };
}

/** Types a room name in the lobby ("Create or join"), then joins from the pre-join screen. */
export async function createOrJoin(page: Page, room: string): Promise<void> {
  await page.fill('#create-form input[name=room]', room);
  await page.click('#create-form button');
  await joinFromPreJoin(page);
}

/** On the pre-join screen: waits until camera and microphone are up, then joins. */
export async function joinFromPreJoin(page: Page): Promise<void> {
  await page.waitForSelector('#view-prejoin:not([hidden]) #join:not([disabled])');
  await page.click('#join');
  await page.waitForSelector('#conn[data-state="open"]');
}

type DemoWindow = { heliographDemo?: { calls: { calls: Map<string, { pc: RTCPeerConnection }> }; stream: MediaStream } };

/** Video frames decoded per remote peer, from each call's getStats(). */
export function framesDecoded(page: Page): Promise<Record<string, number>> {
  return page.evaluate(async () => {
    const demo = (window as unknown as DemoWindow).heliographDemo;
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
export function audioPackets(page: Page): Promise<number[]> {
  return page.evaluate(async () => {
    const demo = (window as unknown as DemoWindow).heliographDemo;
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
export async function expectVideoFrom(page: Page, peers: number): Promise<Record<string, number>> {
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

/** The tile of the person shown as `name`. */
export function tileOf(page: Page, name: string) {
  return page.locator('.tile', { has: page.locator('.name', { hasText: name }) });
}

/**
 * The video track the tile of `name` shows, and how many frames the page decoded of it (from the
 * inbound-rtp stats whose trackIdentifier is that track).
 */
export function shownTrack(page: Page, name: string): Promise<{ id: string; frames: number; width: number; height: number } | undefined> {
  return page.evaluate(async (who) => {
    const tile = [...document.querySelectorAll('.tile')].find((t) => t.querySelector('.name')?.textContent === who);
    const track = (tile?.querySelector('video')?.srcObject as MediaStream | null)?.getVideoTracks()[0];
    if (!track) {
      return undefined;
    }
    const demo = (window as unknown as DemoWindow).heliographDemo;
    let frames = 0;
    let width = 0;
    let height = 0;
    for (const call of demo?.calls.calls.values() ?? []) {
      const stats = await call.pc.getStats();
      stats.forEach((s: { type: string; trackIdentifier?: string; framesDecoded?: number; frameWidth?: number; frameHeight?: number }) => {
        if (s.type === 'inbound-rtp' && s.trackIdentifier === track.id) {
          frames = s.framesDecoded ?? 0;
          width = s.frameWidth ?? 0;
          height = s.frameHeight ?? 0;
        }
      });
    }
    return { id: track.id, frames, width, height };
  }, name);
}
