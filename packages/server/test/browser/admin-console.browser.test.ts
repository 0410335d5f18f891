import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run-cli.js';
import { runLoad } from '../../src/loadtest/load-run.js';
import { launchChromium, type TestBrowser } from '../helpers/browser.js';
import { TestClient } from '../helpers/client.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { haveTool } from '../helpers/require-tool.js';
import { startServer, TEST_SECRET, type TestServer } from '../helpers/server.js';
import { HOOK_SECRET, TestBackend } from '../helpers/business-backend.js';
import { ARTEFACTS, createOrJoin, expectVideoFrom, newUser } from './demo-pages.js';

/**
 * The operator dashboard at /admin in real Chromium, on a two-node cluster over a real
 * redis-server: access by key, the cluster's counts, live charts under load from the shared
 * generator, a kick across nodes, and the inspector watching a real call set up meanwhile.
 * With HELIOGRAPH_DOCS_SCREENSHOTS=1 its screenshots also replace those of docs/images/.
 */
const READ = 'admin-read-key-0123456789-abcdefghij';
const WRITE = 'admin-write-key-0123456789-abcdefghij';
const DOCS_IMAGES = fileURLToPath(new URL('../../../../docs/images/', import.meta.url));
const hasRedis = haveTool('redis-server', 'redis-server');

let redis: TestRedis;
let nodes: TestServer[];
let chrome: TestBrowser;
let backend: TestBackend;
let page: Page;
const clients: TestClient[] = [];

/** A screenshot of the page, or of one element of it. */
async function shot(name: string, selector?: string): Promise<void> {
  mkdirSync(ARTEFACTS, { recursive: true });
  const path = `${ARTEFACTS}${name}.png`;
  await (selector ? page.locator(selector).screenshot({ path }) : page.screenshot({ path, fullPage: true }));
  if (process.env.HELIOGRAPH_DOCS_SCREENSHOTS === '1') {
    mkdirSync(DOCS_IMAGES, { recursive: true });
    copyFileSync(`${ARTEFACTS}${name}.png`, `${DOCS_IMAGES}${name}.png`);
  }
}

async function join(node: TestServer, user: string, room: string, name?: string): Promise<{ client: TestClient; peer: string }> {
  const client = await TestClient.open(node.wsUrl, await node.token(user, undefined, name ? { name } : {}));
  clients.push(client);
  return { client, peer: (await client.ok('room.join', { room })).peer.id };
}

const figure = (name: string) => page.textContent(`[data-figure=${name}]`);

async function logIn(key: string): Promise<void> {
  await page.goto(`${nodes[0]!.url}/admin`);
  await page.fill('#api-key', key);
  await page.click('#login-form button');
  await page.waitForSelector('#console:not([hidden])');
  await page.waitForSelector('#live.on');
}

describe.skipIf(!hasRedis)('operator dashboard', () => {
  beforeAll(async () => {
    redis = await startRedis();
    // Webhooks to a port nobody answers: every event becomes a dead letter at its first attempt.
    backend = await new TestBackend({ jwtSecret: TEST_SECRET }).reservePort();
    const settings = {
      redis: { url: redis.url },
      webhooks: { url: backend.webhookUrl, secret: HOOK_SECRET, maxAttempts: 1 },
      auth: { signupMaxPerAddress: 20 },
      controlApi: {
        keys: [
          { id: 'dash-read', key: READ, scope: 'read' as const },
          { id: 'dash-ops', key: WRITE, scope: 'read-write' as const },
        ],
      },
    };
    nodes = [await startServer(settings), await startServer(settings)];
    chrome = await launchChromium();
    page = await (await chrome.browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    page.on('pageerror', (err) => console.error('[admin] page error:', err));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await chrome?.close();
    await Promise.all((nodes ?? []).map((n) => n.close()));
    await redis?.stop();
    await backend?.stop().catch(() => undefined);
  });

  it('refuses without credentials and logs in with a read key', async () => {
    await page.goto(`${nodes[0]!.url}/admin`);
    expect(await page.isVisible('#login')).toBe(true);
    expect(await page.isHidden('#console')).toBe(true);
    expect(await page.evaluate(async () => (await fetch('/v1/console/overview')).status)).toBe(401);
    expect(await page.evaluate(async () => (await fetch('/v1/rooms')).status)).toBe(401);
    await page.fill('#api-key', 'not-a-key');
    await page.click('#login-form button');
    await page.waitForSelector('#login-error:has-text("That key is not accepted.")');
    expect(await page.isHidden('#console')).toBe(true);
    await logIn(READ);
  });

  it('lets in a built-in account with the admin role, and no other', async () => {
    await nodes[0]!.app.accounts.add('boss', 'boss-password-1');
    await nodes[0]!.app.accounts.add('staff', 'staff-password-1');
    const io = { stdout: new PassThrough(), stderr: new PassThrough(), stdin: new PassThrough(), isTTY: false };
    const dataDir = nodes[0]!.config.dataDir;
    expect(await runCli({ argv: ['users', 'role', 'boss', 'admin', '--data-dir', dataDir], env: {}, cwd: dataDir, version: 't', io })).toBe(0);
    await page.click('#sign-out');
    await page.waitForSelector('#login:not([hidden])');
    await page.fill('#username', 'staff');
    await page.fill('#password', 'staff-password-1');
    await page.click('#account-form button');
    await page.waitForSelector('#login-error:has-text("Wrong username or password, or not an admin.")');
    await page.fill('#username', 'boss');
    await page.fill('#password', 'boss-password-1');
    await page.click('#account-form button');
    await page.waitForSelector('#live.on');
    await page.click('#sign-out');
    await logIn(READ);
  });

  it('shows the two-node cluster with the right counts', async () => {
    await join(nodes[0]!, 'u1', 'alpha');
    await join(nodes[0]!, 'u2', 'alpha');
    await join(nodes[1]!, 'u3', 'alpha');
    await join(nodes[1]!, 'u4', 'beta');
    await page.waitForFunction(() => document.querySelector('[data-figure=peers]')?.textContent === '4', undefined, { timeout: 10_000 });
    expect(await figure('nodes')).toBe('2');
    expect(await figure('connections')).toBe('4');
    expect(await figure('rooms')).toBe('2');
    expect(await page.textContent('#scope')).toMatch(/^cluster of 2 nodes, seen from ND_/);
    const rows = await page.$$eval('#nodes tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => [r[1], r[2], r[4]]).sort()).toEqual([
      ['ready', '2', '2'],
      ['ready', '2', '2'],
    ]);
    await page.waitForSelector('#rooms tr[data-room="alpha"]');
    expect(await page.$$eval('#rooms tbody tr', (trs) => trs.map((tr) => [tr.children[0]?.textContent, tr.children[1]?.textContent]))).toEqual([
      ['alpha', '3'],
      ['beta', '1'],
    ]);
  });

  it('moves its charts while a generator runs', async () => {
    const points = () => page.$eval('#chart-signals', (el) => Number((el as HTMLElement).dataset.points ?? 0));
    const before = await points();
    const node = nodes[0]!;
    const load = runLoad({ wsUrl: node.wsUrl, mint: (user) => node.token(user), rooms: 2, peersPerRoom: 2, rate: 200, seconds: 6, prefix: 'chart' });
    await page.waitForFunction(() => Number(document.querySelector('[data-figure=signalsPerSecond]')?.textContent) > 50, undefined, { timeout: 10_000 });
    const last = await page.$eval('#chart-signals', (el) => JSON.parse((el as HTMLElement).dataset.last ?? '[]') as number[]);
    expect(last[0]).toBeGreaterThan(50);
    expect(await points()).toBeGreaterThan(before);
    await shot('console-overview');
    const report = await load;
    expect(report.signals.failed).toBe(0);
    // Opened again, the charts start with the last minutes (the nodes' samples), load included.
    await page.reload();
    await page.waitForSelector('#live.on');
    const history = await page.$eval('#chart-signals', (el) => Number((el as HTMLElement).dataset.points ?? 0));
    expect(history).toBeGreaterThanOrEqual(5);
  });

  it('kicks a peer from the dashboard (a read key may not), across nodes', async () => {
    const u5 = await join(nodes[1]!, 'u5', 'gamma');
    // A hostile display name is shown as text, never run.
    const hostile = '<img src=x onerror="window.__xss=1">';
    await join(nodes[0]!, 'u6', 'gamma', hostile);
    await page.waitForSelector('#rooms tr[data-room="gamma"]', { timeout: 10_000 });
    await page.click('#rooms tr[data-room="gamma"] button');
    await page.waitForSelector(`#peers td:text-is('${hostile}')`);
    expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.$$('#peers img')).toHaveLength(0);
    await page.click(`#peers tr[data-peer="${u5.peer}"] button:has-text("Kick")`);
    await page.waitForSelector('#action-error:has-text("FORBIDDEN")');
    expect(u5.client.log.some((e) => e.type === 'room.kicked')).toBe(false);

    await page.click('#sign-out');
    await logIn(WRITE);
    await page.waitForSelector('#rooms tr[data-room="gamma"]');
    await page.click('#rooms tr[data-room="gamma"] button');
    await page.click(`#peers tr[data-peer="${u5.peer}"] button:has-text("Kick")`);
    const kicked = await u5.client.nextEvent('room.kicked');
    expect(kicked.data).toMatchObject({ reason: 'removed by an operator' });
    await page.waitForFunction((peer) => !document.querySelector(`#peers tr[data-peer="${peer}"]`), u5.peer, { timeout: 10_000 });
    expect(await page.textContent('#action-error')).toBe('');
  });

  it('sends data, closes a room and redelivers a dead letter from the dashboard', async () => {
    const a = await join(nodes[0]!, 'd1', 'delta');
    const b = await join(nodes[1]!, 'd2', 'delta');
    await page.waitForSelector('#rooms tr[data-room="delta"]', { timeout: 10_000 });
    await page.click('#rooms tr[data-room="delta"] button');
    await page.waitForSelector(`#peers tr[data-peer="${b.peer}"]`);
    await page.fill('#send-data', '{"notice":"from the console"}');
    await page.click('#send-form button');
    for (const x of [a, b]) {
      expect((await x.client.nextEvent('data')).data).toEqual({ from: 'server', payload: { notice: 'from the console' } });
    }
    await page.selectOption('#send-to', b.peer);
    await page.fill('#send-data', '[42]');
    await page.click('#send-form button');
    expect((await b.client.nextEvent('data')).data).toEqual({ from: 'server', payload: [42] });
    await page.click('#close-room');
    expect((await a.client.nextEvent('room.closed')).data).toMatchObject({ reason: 'closed by an operator' });
    await b.client.nextEvent('room.closed');
    await page.waitForSelector('#room-panel', { state: 'hidden' });

    // The list is the cluster's: the first row may be either node's, redelivered by that node.
    const deadOn = async (node: TestServer) => {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      return Number(/heliograph_webhook_deliveries_total\{outcome="dead"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const dead = async () => (await deadOn(nodes[0]!)) + (await deadOn(nodes[1]!));
    await page.waitForSelector('#dead-letters tbody tr button', { timeout: 15_000 });
    expect(nodes.map((n) => n.app.cluster?.nodeId)).toContain(await page.textContent('#dead-letters tbody tr td:nth-child(4)'));
    const before = await dead();
    await page.click('#dead-letters tbody tr button');
    // Redelivered: attempted once more (nobody answers), and dead again.
    const deadline = Date.now() + 10_000;
    while ((await dead()) === before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await dead()).toBe(before + 1);
    expect(await page.textContent('#action-error')).toBe('');
  });

  it('inspects a call set up meanwhile: offer, answer and candidates, never a token', async () => {
    await page.selectOption('#inspect-kind', 'room');
    await page.fill('#inspect-target', 'inspected');
    await page.click('#inspect-start');
    await page.waitForSelector('#inspect-status:has-text("capturing room inspected")');
    // A real call between two browsers, one on each node.
    const alice = await newUser(chrome.browser, nodes[0]!.url, 'alice');
    const bob = await newUser(chrome.browser, nodes[1]!.url, 'bob');
    await createOrJoin(alice.page, 'inspected');
    await createOrJoin(bob.page, 'inspected');
    await expectVideoFrom(alice.page, 1);
    const gists = () => page.$$eval('#records tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.gist));
    await page.waitForFunction(
      () => {
        const g = [...document.querySelectorAll('#records tbody tr')].map((tr) => (tr as HTMLElement).dataset.gist);
        return g.includes('offer') && g.includes('answer') && g.includes('candidate');
      },
      undefined,
      { timeout: 15_000 },
    );
    expect(await gists()).toEqual(expect.arrayContaining(['offer', 'answer', 'candidate']));
    // Open an offer's body: the SDP is shown, its ICE password is not.
    await page.click('#records tr[data-gist="offer"] summary');
    const shown = await page.textContent('#records');
    expect(shown).toContain('a=ice-ufrag:');
    expect(shown).toMatch(/a=ice-pwd:\[redacted\]/);
    expect(shown).not.toMatch(/a=ice-pwd:(?!\[redacted\])/);
    const tokens = await Promise.all([alice.page, bob.page].map((p) => p.evaluate(() => JSON.stringify(sessionStorage) + JSON.stringify(localStorage))));
    const jwts = tokens.join(' ').match(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g) ?? [];
    expect(jwts.length).toBeGreaterThan(0);
    for (const jwt of jwts) {
      expect(shown).not.toContain(jwt);
    }
    expect(shown).not.toMatch(/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\./);
    await shot('console-inspector', '#inspector');
    await page.click('#inspect-stop');
    await alice.page.context().close();
    await bob.page.context().close();
  });
});
