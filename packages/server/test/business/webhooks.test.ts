import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sign } from '../../src/shared/hmac-signature.js';
import { openRetained, statement } from '../../src/storage/database.js';
import { HOOK_SECRET, TestBackend, type WebhookEvent } from '../helpers/business-backend.js';
import { TestClient } from '../helpers/client.js';
import { startServer, TEST_SECRET, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const KEY = 'rw-key-0123456789-0123456789-0123456789';
let server: TestServer | undefined;
let backend: TestBackend | undefined;
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.close();
  await backend?.stop().catch(() => undefined);
  server = undefined;
  backend = undefined;
});

async function start(webhooks: Record<string, unknown> = {}): Promise<{ server: TestServer; backend: TestBackend }> {
  backend ??= await new TestBackend({ jwtSecret: TEST_SECRET }).start();
  server = await startServer({
    webhooks: { url: backend.webhookUrl, secret: HOOK_SECRET, initialBackoffMs: 20, maxBackoffMs: 100, ...webhooks },
    controlApi: { keys: [{ id: 'ops', key: KEY, scope: 'read-write' }] },
  });
  return { server, backend };
}

async function enter(s: TestServer, user: string, room: string): Promise<TestClient> {
  const client = await TestClient.open(s.wsUrl, await s.token(user));
  clients.push(client);
  await client.ok('room.join', { room });
  return client;
}

function summary(events: WebhookEvent[], room: string): string[] {
  return events
    .filter((e) => e.room === room)
    .map((e) => `${e.seq} ${e.type}${e.type.startsWith('peer.') ? ` ${(e.data.peer as { userId: string }).userId}` : ''}`);
}

describe('webhooks', () => {
  it('tells the backend what happened, signed, each room in order with its own sequence', async () => {
    const { server, backend } = await start();
    const ada = await enter(server, 'ada', 'r1');
    const bob = await enter(server, 'bob', 'r1');
    await enter(server, 'cy', 'r2');
    await bob.ok('peer.update', { name: 'Bob' });
    await bob.ok('room.leave', {});
    await ada.close();
    await until(() => backend.events.filter((e) => e.room === 'r1').length === 6, 5000, 'the events of r1');
    const closed = await fetch(`${server.url}/v1/rooms/r2`, { method: 'DELETE', headers: { authorization: `Bearer ${KEY}` } });
    expect(closed.status).toBe(204);
    await until(() => backend.events.filter((e) => e.room === 'r2').length === 4, 5000, 'the events of r2');
    // Every event reached the sample backend through its signature check (it answers 401 otherwise).
    expect(summary(backend.events, 'r1')).toEqual([
      '1 room.started',
      '2 peer.joined ada',
      '3 peer.joined bob',
      '4 peer.updated bob',
      '5 peer.left bob',
      '6 peer.left ada',
    ]);
    expect(summary(backend.events, 'r2')).toEqual(['1 room.started', '2 peer.joined cy', '3 peer.left cy', '4 room.finished']);
    expect(backend.events.find((e) => e.room === 'r2' && e.seq === 3)?.data.reason).toBe('room_closed');
    expect(backend.events.find((e) => e.room === 'r2' && e.seq === 4)?.data).toMatchObject({ reason: 'closed', room: { id: 'r2' } });
    const left = backend.events.find((e) => e.type === 'peer.left' && e.room === 'r1' && e.seq === 6);
    expect(left?.data).toMatchObject({ reason: 'disconnected', peer: { userId: 'ada', permissions: { signal: true, data: true, update: true } } });
    expect(new Set(backend.events.map((e) => e.id)).size).toBe(backend.events.length);
    expect(backend.events.every((e) => /^EV_/.test(e.id) && typeof e.createdAt === 'number')).toBe(true);
  });

  it('has the event on disk before the join is acknowledged', async () => {
    backend = await new TestBackend({ jwtSecret: TEST_SECRET }).reservePort();
    const { server } = await start();
    await enter(server, 'ada', 'durable');
    // Read the node's database from outside, as a crash would leave it.
    const db = openRetained(join(server.config.dataDir, 'heliograph.db'), { readonly: true });
    try {
      const rows = statement(db, `SELECT type, room, room_seq AS seq FROM webhook_events ORDER BY position`).all();
      expect(rows).toEqual([
        { type: 'room.started', room: 'durable', seq: 1 },
        { type: 'peer.joined', room: 'durable', seq: 2 },
      ]);
    } finally {
      db.close();
    }
  });

  it('keeps retrying while the backend is down, and delivers everything in order once it is back', async () => {
    backend = await new TestBackend({ jwtSecret: TEST_SECRET }).reservePort();
    const { server } = await start();
    const ada = await enter(server, 'ada', 'down');
    await enter(server, 'bob', 'down');
    await ada.ok('room.leave', {});
    const text = async () => server.app.metrics.getSingleMetricAsString('heliograph_webhook_deliveries_total');
    await expect.poll(text, { timeout: 5000 }).toMatch(/outcome="retry"} [2-9]/);
    expect(backend.events).toEqual([]);
    await backend.start();
    await until(() => backend!.events.length === 4, 5000, 'the delivery after the backend is back');
    expect(summary(backend.events, 'down')).toEqual(['1 room.started', '2 peer.joined ada', '3 peer.joined bob', '4 peer.left ada']);
  });

  it('turns an event into a dead letter after maxAttempts; the API lists, redelivers and discards it', async () => {
    backend = await new TestBackend({ jwtSecret: TEST_SECRET }).reservePort();
    const { server } = await start({ maxAttempts: 2 });
    await enter(server, 'ada', 'dl');
    const auth = { authorization: `Bearer ${KEY}` };
    const list = async () =>
      (await (await fetch(`${server.url}/v1/webhooks/dead-letters`, { headers: auth })).json()) as {
        deadLetters: Array<{ id: string; type: string; seq: number; attempts: number; lastError: string }>;
      };
    await expect.poll(async () => (await list()).deadLetters.length, { timeout: 5000 }).toBe(2);
    const dead = (await list()).deadLetters;
    expect(dead.map((d) => [d.type, d.seq, d.attempts])).toEqual([
      ['room.started', 1, 2],
      ['peer.joined', 2, 2],
    ]);
    expect(dead[0]?.lastError).toMatch(/fetch failed|ECONNREFUSED/);

    await backend.start();
    const [first, second] = dead;
    const redeliver = await fetch(`${server.url}/v1/webhooks/dead-letters/${first?.id}/redeliver`, { method: 'POST', headers: auth });
    expect(redeliver.status).toBe(202);
    await until(() => backend!.events.length === 1, 5000, 'the redelivery');
    expect(backend.events[0]).toMatchObject({ id: first?.id, type: 'room.started', seq: 1 });
    const discard = await fetch(`${server.url}/v1/webhooks/dead-letters/${second?.id}`, { method: 'DELETE', headers: auth });
    expect(discard.status).toBe(204);
    expect((await list()).deadLetters).toEqual([]);
    const again = await fetch(`${server.url}/v1/webhooks/dead-letters/${second?.id}`, { method: 'DELETE', headers: auth });
    expect(again.status).toBe(404);
  });

  it('sends only the configured event types', async () => {
    const { server, backend } = await start({ events: ['peer.joined'] });
    await enter(server, 'ada', 'f');
    await until(() => backend.events.length === 1, 5000, 'peer.joined');
    await enter(server, 'bob', 'f');
    await until(() => backend.events.length === 2, 5000, 'the second peer.joined');
    expect(backend.events.map((e) => [e.type, e.seq])).toEqual([
      ['peer.joined', 1],
      ['peer.joined', 2],
    ]);
  });
});

describe('the sample receiver', () => {
  it('refuses replays by age, forged signatures and unsigned requests', async () => {
    backend = await new TestBackend({ jwtSecret: TEST_SECRET }).start();
    const body = JSON.stringify({ id: 'EV_x', type: 'room.started', createdAt: 0, room: 'r', seq: 1, data: {} });
    const post = (headers: Record<string, string>) =>
      fetch(backend!.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const now = Math.floor(Date.now() / 1000);
    const signed = (ts: number, secret = HOOK_SECRET) => ({ 'x-heliograph-timestamp': String(ts), 'x-heliograph-signature': sign(secret, ts, body) });

    expect((await post(signed(now - 600))).status).toBe(401);
    expect((await post(signed(now, 'not-the-secret-0123456789'))).status).toBe(401);
    expect((await post({})).status).toBe(401);
    expect(backend.events).toEqual([]);
    expect((await post(signed(now))).status).toBe(200);
    expect((await post(signed(now))).status).toBe(200);
    // Delivered twice (at least once), handled once.
    expect(backend.events).toHaveLength(1);
  });
});
