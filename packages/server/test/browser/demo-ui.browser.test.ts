import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from '../helpers/browser.js';
import { TestClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import {
  createOrJoin,
  expectVideoFrom,
  joinFromPreJoin,
  logIn,
  newUser,
  openDemo,
  screenshot,
  shownTrack,
  signUp,
  tileOf,
  type DemoUser,
} from './demo-pages.js';

/**
 * The demo as a person meets it, in real Chromium with fake devices (screen capture included):
 * layout at desktop and phone widths, the lobby keeping itself current, mute and camera marks,
 * screen sharing, a call taken over by another window, the Chinese UI, and a page on a LAN
 * address over plain http. Screenshots go to test-results/.
 */
let server: TestServer;
let chrome: TestBrowser;
const ROOM = 'Design review';
const ROOM_ID = 'Design-review';

beforeAll(async () => {
  // More sign-ups from 127.0.0.1 than the default allows within its window.
  server = await startServer({ auth: { signupMaxPerAddress: 20 } });
  chrome = await launchChromium();
});
afterAll(async () => {
  await chrome?.close();
  await server?.close();
});

/** Boxes of the page's video tiles, in document order. */
function tileBoxes(page: Page) {
  return page.$$eval('#videos .tile', (tiles) => tiles.map((t) => t.getBoundingClientRect()).map(({ x, y, width, height }) => ({ x, y, width, height })));
}

const distinct = (values: number[]) => new Set(values.map((v) => Math.round(v))).size;

describe('demo app: a call people would keep open', () => {
  let alice: DemoUser;
  let bob: DemoUser;
  let carol: DemoUser;
  let dave: DemoUser;
  let wang: Page | undefined;
  // Hang up everyone before the next group: four live calls would slow it down.
  afterAll(async () => {
    const pages: Array<Page | undefined> = [alice?.page, bob?.page, carol?.page, dave?.page, wang];
    for (const page of pages) {
      await page?.context().close();
    }
  });

  it('four people in a 2×2 grid at 1280 px; at 375 px the header stays on one line', async () => {
    const clipboard = { permissions: ['clipboard-read', 'clipboard-write'] };
    alice = await newUser(chrome.browser, server.url, 'alice', clipboard);
    // A room name with a space: the demo makes it a valid room id and keeps the name as its title.
    await createOrJoin(alice.page, ROOM);
    expect(await alice.page.textContent('#room-title')).toBe(ROOM);
    await alice.page.click('#copy-link');
    await alice.page.waitForSelector('#toast:not([hidden])');
    const invite = await alice.page.evaluate(() => navigator.clipboard.readText());
    expect(invite).toBe(`${server.url}/#/room/${ROOM_ID}`);

    bob = await newUser(chrome.browser, server.url, 'bob');
    await bob.page.click(`#room-list li[data-room="${ROOM_ID}"] button`);
    // The pre-join screen offers the devices: bob picks the last microphone, and calls with it.
    await bob.page.waitForSelector('#join:not([disabled])');
    const mics = await bob.page.$$eval('#mic-select option', (options) => options.map((o) => (o as HTMLOptionElement).value));
    expect(mics.length).toBeGreaterThan(1);
    await bob.page.selectOption('#mic-select', mics.at(-1)!);
    await joinFromPreJoin(bob.page);
    const micInCall = await bob.page.evaluate(
      () => (window as unknown as { heliographDemo: { stream: MediaStream } }).heliographDemo.stream.getAudioTracks()[0]?.getSettings().deviceId,
    );
    expect(micInCall).toBe(mics.at(-1));

    carol = await newUser(chrome.browser, server.url, 'carol', { viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
    await screenshot(carol.page, 'demo-375-lobby');
    await carol.page.goto(invite);
    await carol.page.waitForSelector('#join:not([disabled])');
    await screenshot(carol.page, 'demo-375-prejoin');
    await joinFromPreJoin(carol.page);

    // Dave types the same name, so he lands in the same room; he joins with his camera off.
    dave = await newUser(chrome.browser, server.url, 'dave');
    await dave.page.fill('#create-form input[name=room]', ROOM);
    await dave.page.click('#create-form button');
    await dave.page.waitForSelector('#join:not([disabled])');
    await dave.page.click('#pre-cam');
    expect(await dave.page.getAttribute('#pre-cam', 'aria-pressed')).toBe('true');
    await joinFromPreJoin(dave.page);
    await expect.poll(() => tileOf(alice.page, dave.name).getAttribute('data-cam')).toBe('off');

    for (const user of [alice, bob, carol, dave]) {
      await expectVideoFrom(user.page, 3);
    }
    const boxes = await tileBoxes(alice.page);
    expect(boxes).toHaveLength(4);
    expect(distinct(boxes.map((b) => b.x))).toBe(2);
    expect(distinct(boxes.map((b) => b.y))).toBe(2);
    expect(await alice.page.textContent('#people-count')).toBe('4');
    await screenshot(alice.page, 'demo-1280-room-of-four');

    const header = await carol.page.$eval('header.bar', (bar) => ({
      height: bar.getBoundingClientRect().height,
      overflows: bar.scrollWidth > bar.clientWidth,
      lineHeight: parseFloat(getComputedStyle(bar).lineHeight) || 20,
    }));
    expect(header.overflows).toBe(false);
    expect(header.height).toBeLessThanOrEqual(2 * header.lineHeight + 24);
    expect(distinct((await tileBoxes(carol.page)).map((b) => b.x))).toBe(2);
    await screenshot(carol.page, 'demo-375-room', true);
  });

  it('mute and camera-off show on the other pages, with an initials avatar', async () => {
    await alice.page.click('#toggle-mic');
    await alice.page.click('#toggle-cam');
    for (const other of [bob, carol]) {
      const tile = tileOf(other.page, alice.name);
      await expect.poll(() => tile.getAttribute('data-mic')).toBe('off');
      await expect.poll(() => tile.getAttribute('data-cam')).toBe('off');
      expect(await tile.locator('.mic-off').isVisible()).toBe(true);
      expect(await tile.locator('.avatar').isVisible()).toBe(true);
      expect(await tile.locator('.avatar').textContent()).toBe('AE');
      expect(await tile.locator('video').isVisible()).toBe(false);
      const person = other.page.locator('#people li', { hasText: alice.name });
      expect(await person.locator('.mark.mic-off').count()).toBe(1);
      expect(await person.locator('.mark.cam-off').count()).toBe(1);
    }
    // The fake microphones beep: someone who is not muted is highlighted as speaking.
    await bob.page.waitForSelector('.tile.speaking:not(.local)', { timeout: 15_000 });
    expect(await tileOf(bob.page, alice.name).getAttribute('class')).not.toContain('speaking');
    await screenshot(bob.page, 'demo-1280-muted-and-camera-off');

    await alice.page.click('#toggle-mic');
    await alice.page.click('#toggle-cam');
    await expect.poll(() => tileOf(bob.page, alice.name).getAttribute('data-mic')).toBe('on');
    await expect.poll(() => tileOf(bob.page, alice.name).getAttribute('data-cam')).toBe('on');
  });

  it('screen sharing renegotiates the calls: the screen reaches the others and decodes', async () => {
    const camera = await shownTrack(alice.page, bob.name);
    expect(camera?.frames).toBeGreaterThan(0);
    await bob.page.click('#toggle-screen');
    await bob.page.waitForSelector('#toggle-screen[aria-pressed="true"]');
    await alice.page.waitForSelector(`.tile.screen:has(.name:text-is("${bob.name}"))`);
    await expect
      .poll(
        async () => {
          const shown = await shownTrack(alice.page, bob.name);
          return shown !== undefined && shown.id !== camera!.id && shown.frames > 0;
        },
        { timeout: 20_000, interval: 250 },
      )
      .toBe(true);
    const screen = (await shownTrack(alice.page, bob.name))!;
    await expect.poll(async () => (await shownTrack(dave.page, bob.name))?.frames ?? 0, { timeout: 20_000 }).toBeGreaterThan(0);
    await screenshot(alice.page, 'demo-1280-screen-share');

    await bob.page.click('#toggle-screen');
    await alice.page.waitForSelector(`.tile:not(.screen):has(.name:text-is("${bob.name}"))`);
    await expect
      .poll(
        async () => {
          const shown = await shownTrack(alice.page, bob.name);
          return shown !== undefined && shown.id !== screen.id && shown.frames > 0;
        },
        { timeout: 20_000, interval: 250 },
      )
      .toBe(true);
  });

  it('a full room sends you back to a lobby that shows the freed seat without a reload', async () => {
    const first = await TestClient.open(server.wsUrl, await server.token('occupant-1'));
    await first.ok('room.join', { room: 'tiny', create: { maxPeers: 2 } });
    const page = carol.page;
    await page.click('#leave');
    await page.waitForSelector('#view-lobby:not([hidden])');
    expect(await page.isHidden('#conn')).toBe(true);
    await page.fill('#create-form input[name=room]', 'tiny');
    await page.click('#create-form button');
    await page.waitForSelector('#room-seats:has-text("1 person")');
    await page.waitForSelector('#join:not([disabled])');
    // Right after the pre-join screen polled the lobby, the last seat goes; then Join.
    await page.waitForResponse((res) => res.url().endsWith('/v1/lobby/rooms'));
    const second = await TestClient.open(server.wsUrl, await server.token('occupant-2'));
    await second.ok('room.join', { room: 'tiny' });
    await page.click('#join');
    await page.waitForSelector('#notice:has-text("That room is full.")');
    await page.waitForSelector('#view-lobby:not([hidden])');
    expect(new URL(page.url()).hash).toBe('#/');
    expect(await page.isHidden('#conn')).toBe(true);

    const join = page.locator('#room-list li[data-room="tiny"] button');
    await expect.poll(() => join.isDisabled()).toBe(true);
    expect(await join.textContent()).toBe('Full');
    // A disabled button looks it.
    expect(Number(await join.evaluate((b) => getComputedStyle(b).opacity))).toBeLessThan(0.6);
    await screenshot(page, 'demo-375-lobby-full-room');

    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    await second.ok('room.leave', {});
    await expect.poll(() => join.isDisabled(), { timeout: 10_000 }).toBe(false);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await first.close();
    await second.close();
  });

  it('a window whose call was taken over offers "Rejoin here", and it works', async () => {
    const second = await alice.page.context().newPage();
    await second.goto(`${server.url}/#/room/${ROOM_ID}`);
    await logIn(second, 'alice');
    await joinFromPreJoin(second);
    await alice.page.waitForSelector('#ended:not([hidden])');
    expect(await alice.page.textContent('#ended')).toContain('another window');
    expect(await alice.page.isHidden('#controls')).toBe(true);
    expect(await alice.page.textContent('#rejoin')).toBe('Rejoin here');
    expect(await alice.page.getAttribute('#conn', 'data-state')).toBe('closed');
    await screenshot(alice.page, 'demo-1280-taken-over');

    await alice.page.click('#rejoin');
    await alice.page.waitForSelector('#conn[data-state="open"]');
    await second.waitForSelector('#ended:not([hidden])');
    expect(await alice.page.isHidden('#ended')).toBe(true);
    await expectVideoFrom(alice.page, 2);
    await expect.poll(async () => (await shownTrack(bob.page, alice.name))?.frames ?? 0, { timeout: 20_000 }).toBeGreaterThan(0);
    await second.close();
  });

  it('speaks Chinese to a zh-CN browser', async () => {
    const { page } = await openDemo(chrome.browser, server.url, 'wang', { locale: 'zh-CN' });
    wang = page;
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    expect(await page.textContent('#tab-login')).toBe('登录');
    await page.click('#tab-signup');
    await screenshot(page, 'demo-1280-zh-CN-sign-up');
    await signUp(page, 'wang', '王小明');
    await page.waitForSelector('#view-lobby:not([hidden])');
    expect(await page.textContent('#view-lobby h1')).toBe('房间');
    await page.click(`#room-list li[data-room="${ROOM_ID}"] button`);
    await page.waitForSelector('#join:not([disabled])');
    expect(await page.textContent('#join')).toBe('立即加入');
    await joinFromPreJoin(page);
    expect(await page.textContent('#toggle-mic .label')).toBe('静音');
    expect(await page.textContent('#toggle-screen .label')).toBe('共享屏幕');
    expect(await page.textContent('#leave')).toContain('离开');
    expect(await page.textContent('#conn')).toBe('已连接');
    await expectVideoFrom(page, 3);
    const visible = await page.evaluate(() => document.body.innerText);
    expect(visible).not.toMatch(/\b(Join|Leave|Mute|Unmute|People|Chat|Share|Copy|Rooms|Connected|Log out)\b/);
    await screenshot(page, 'demo-1280-zh-CN');
  });
});

describe('demo app on a LAN address over plain http', () => {
  let lan: TestServer;
  beforeAll(async () => {
    // Inside the test's network namespace, 192.0.2.1 is the namespace's own address.
    lan = await startServer({ host: '192.0.2.1', auth: { signupMaxPerAddress: 1 } });
  });
  afterAll(async () => {
    await lan?.close();
  });

  it('explains https and STUN/TURN, offers no dead microphone or camera buttons, and says how long a sign-up must wait', async () => {
    expect(lan.url).toMatch(/^http:\/\/192\.0\.2\.1:/);
    const { page } = await openDemo(chrome.browser, lan.url, 'lan');
    await signUp(page, 'lan', 'Lan Example');
    await page.waitForSelector('#view-lobby:not([hidden])');
    const notes = await page.textContent('#view-lobby .env-notes');
    expect(notes).toContain('https');
    expect(notes).toContain('STUN');
    expect(notes).toContain('TURN');
    await screenshot(page, 'demo-1280-lan-http-lobby');

    await page.fill('#create-form input[name=room]', 'lan room');
    await page.click('#create-form button');
    await page.waitForSelector('#media-problem:not([hidden])');
    expect(await page.textContent('#media-problem')).toContain('https');
    expect(await page.isDisabled('#pre-mic')).toBe(true);
    expect(await page.isDisabled('#pre-cam')).toBe(true);
    await screenshot(page, 'demo-1280-lan-http-prejoin');
    await joinFromPreJoin(page);
    expect(await page.isDisabled('#toggle-mic')).toBe(true);
    expect(await page.isDisabled('#toggle-cam')).toBe(true);
    expect(await page.isDisabled('#toggle-screen')).toBe(true);
    await page.waitForSelector('#messages li:has-text("no STUN or TURN")');

    // The address has had its one sign-up: the next is refused, and the page says for how long.
    await page.click('#leave');
    await page.click('#logout');
    await signUp(page, 'lan2', 'Lan Two');
    await page.waitForSelector('#notice:not([hidden])');
    expect(await page.textContent('#notice')).toMatch(/sign up again in \d+ minutes/);
  });
});
