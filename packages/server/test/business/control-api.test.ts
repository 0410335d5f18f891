import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const RW = 'rw-key-0123456789-0123456789-0123456789';
const RO = 'ro-key-0123456789-0123456789-0123456789';

let server: TestServer;
const clients: TestClient[] = [];
beforeAll(async () => {
  server = await startServer({
    controlApi: {
      keys: [
        { id: 'ops', key: RW, scope: 'read-write' },
        { id: 'dashboard', key: RO, scope: 'read' },
      ],
    },
  });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.close();
});

async function call(method: string, path: string, body?: unknown, key: string | null = RW) {
  const headers: Record<string, string> = {};
  if (key !== null) {
    headers.authorization = `Bearer ${key}`;
  }
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${server.url}${path}`, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}

async function member(user: string, room: string): Promise<{ client: TestClient; peerId: string }> {
  const client = await TestClient.open(server.wsUrl, await server.token(user));
  clients.push(client);
  const joined = await client.ok('room.join', { room });
  return { client, peerId: joined.peer.id };
}

describe('control API: authentication', () => {
  it.each([
    ['GET', '/v1/rooms'],
    ['POST', '/v1/rooms'],
    ['GET', '/v1/rooms/x/peers'],
    ['POST', '/v1/tokens'],
    ['GET', '/v1/webhooks/dead-letters'],
  ])('%s %s without a key is 401, before validation', async (method, path) => {
    const res = await call(method, path, method === 'POST' ? { nonsense: true } : undefined, null);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: { code: 'UNAUTHORIZED', message: 'An API key is required: Authorization: Bearer <key>' } });
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('refuses an unknown key, and a user join token', async () => {
    expect((await call('GET', '/v1/rooms', undefined, `${RW}x`)).body).toEqual({ error: { code: 'UNAUTHORIZED', message: 'Unknown API key' } });
    expect((await call('GET', '/v1/rooms', undefined, await server.token('ada'))).status).toBe(401);
  });

  it('lets a read key read, and nothing else', async () => {
    expect((await call('GET', '/v1/rooms', undefined, RO)).status).toBe(200);
    const res = await call('POST', '/v1/rooms', { id: 'ro' }, RO);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: { code: 'FORBIDDEN', message: 'API key "dashboard" is read-only' } });
  });
});

describe('control API: rooms', () => {
  it('creates, gets, lists with paging, updates and closes rooms', async () => {
    const created = await call('POST', '/v1/rooms', { id: 'api-1', maxPeers: 4, metadata: { topic: 'standup' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'api-1', maxPeers: 4, metadata: { topic: 'standup' }, peers: 0, emptyTimeoutMs: 300_000 });
    expect((await call('POST', '/v1/rooms', { id: 'api-1' })).body).toMatchObject({ error: { code: 'CONFLICT' } });
    await call('POST', '/v1/rooms', { id: 'api-2' });
    await call('POST', '/v1/rooms', { id: 'api-3' });

    expect((await call('GET', '/v1/rooms/api-1')).body).toMatchObject({ id: 'api-1', peers: 0 });
    expect((await call('GET', '/v1/rooms/nope')).body).toMatchObject({ error: { code: 'ROOM_NOT_FOUND' } });
    expect((await call('GET', '/v1/rooms/nope')).status).toBe(404);

    const page1 = await call('GET', '/v1/rooms?limit=2');
    expect(page1.body?.rooms.map((r: { id: string }) => r.id)).toEqual(['api-1', 'api-2']);
    const page2 = await call('GET', `/v1/rooms?limit=2&cursor=${page1.body?.nextCursor}`);
    expect(page2.body?.rooms.map((r: { id: string }) => r.id)).toEqual(['api-3']);
    expect(page2.body?.nextCursor).toBeUndefined();

    const { client } = await member('ada', 'api-1');
    const updated = await call('PATCH', '/v1/rooms/api-1', { metadata: { topic: 'retro' } });
    expect(updated.body).toMatchObject({ metadata: { topic: 'retro' }, peers: 1 });
    expect((await client.nextEvent('room.updated')).data.room.metadata).toEqual({ topic: 'retro' });

    const closed = await call('DELETE', '/v1/rooms/api-1?reason=meeting%20over');
    expect(closed.status).toBe(204);
    expect((await client.nextEvent('room.closed')).data).toEqual({ reason: 'meeting over' });
    expect((await call('GET', '/v1/rooms/api-1')).status).toBe(404);
    expect((await call('DELETE', '/v1/rooms/api-1')).status).toBe(404);
  });

  it.each([
    ['POST', '/v1/rooms', { id: 'bad room!' }, '/id'],
    ['POST', '/v1/rooms', { id: 'ok', maxPeers: 0 }, '/maxPeers'],
    ['POST', '/v1/rooms', { id: 'ok', extra: 1 }, '/'],
    ['PATCH', '/v1/rooms/x', { metadata: 'no' }, '/metadata'],
    ['GET', '/v1/rooms?limit=1000', undefined, '/limit'],
    ['POST', '/v1/tokens', { userId: 'u' }, '/'],
    ['POST', '/v1/tokens', { userId: 'u', room: 'r', ttlSeconds: 1 }, '/ttlSeconds'],
    ['PATCH', '/v1/rooms/x/peers/p', {}, '/'],
    ['PATCH', '/v1/rooms/x/peers/p', { permissions: { signal: 'yes' } }, '/permissions/signal'],
    ['POST', '/v1/rooms/x/data', { to: [] }, '/'],
  ])('%s %s %j is a BAD_REQUEST with issues', async (method, path, body, where) => {
    const res = await call(method, path, body);
    expect(res.status).toBe(400);
    expect(res.body?.error.code).toBe('BAD_REQUEST');
    expect(res.body?.error.issues.map((i: { path: string }) => i.path)).toContain(where);
  });

  it('sends data to a whole room or to some peers, from "server"', async () => {
    const a = await member('ann', 'data-room');
    const b = await member('ben', 'data-room');
    expect((await call('POST', '/v1/rooms/data-room/data', { payload: { hello: 1 } })).body).toEqual({ recipients: 2 });
    expect((await a.client.nextEvent('data')).data).toEqual({ from: 'server', payload: { hello: 1 } });
    expect((await b.client.nextEvent('data')).data).toEqual({ from: 'server', payload: { hello: 1 } });
    expect((await call('POST', '/v1/rooms/data-room/data', { payload: 'only ben', to: [b.peerId] })).body).toEqual({ recipients: 1 });
    expect((await b.client.nextEvent('data')).data.payload).toBe('only ben');
    expect((await call('POST', '/v1/rooms/data-room/data', { payload: 1, to: ['PR_nobody'] })).body).toMatchObject({ error: { code: 'PEER_NOT_FOUND' } });
    expect((await call('POST', '/v1/rooms/nowhere/data', { payload: 1 })).status).toBe(404);
  });
});

describe('control API: peers', () => {
  it('lists, gets, updates (metadata and permissions), sends to and kicks peers', async () => {
    const ada = await member('ada', 'peers-room');
    const bob = await member('bob', 'peers-room');
    const list = await call('GET', '/v1/rooms/peers-room/peers', undefined, RO);
    expect(list.body?.peers.map((p: { userId: string }) => p.userId)).toEqual(['ada', 'bob']);
    const got = await call('GET', `/v1/rooms/peers-room/peers/${bob.peerId}`, undefined, RO);
    expect(got.body).toMatchObject({ id: bob.peerId, userId: 'bob', permissions: { signal: true, data: true, update: true } });
    expect((await call('GET', '/v1/rooms/peers-room/peers/PR_x')).body).toMatchObject({ error: { code: 'PEER_NOT_FOUND' } });

    const patched = await call('PATCH', `/v1/rooms/peers-room/peers/${bob.peerId}`, { metadata: { role: 'viewer' }, permissions: { data: false } });
    expect(patched.body).toMatchObject({ metadata: { role: 'viewer' }, permissions: { signal: true, data: false, update: true } });
    // The room and the peer itself hear of it.
    expect((await ada.client.nextEvent('peer.updated')).data.peer.metadata).toEqual({ role: 'viewer' });
    expect((await bob.client.nextEvent('peer.updated')).data.peer.id).toBe(bob.peerId);
    expect(await bob.client.fail('data.send', { payload: 'x' })).toMatchObject({ code: 'FORBIDDEN' });

    expect((await call('POST', `/v1/rooms/peers-room/peers/${ada.peerId}/data`, { payload: [1, 2] })).body).toEqual({ recipients: 1 });
    expect((await ada.client.nextEvent('data')).data).toEqual({ from: 'server', payload: [1, 2] });

    const kicked = await call('POST', `/v1/rooms/peers-room/peers/${bob.peerId}/kick`, { reason: 'spam' });
    expect(kicked.status).toBe(204);
    expect((await bob.client.nextEvent('room.kicked')).data).toEqual({ reason: 'spam' });
    expect((await ada.client.nextEvent('peer.left')).data).toEqual({ peerId: bob.peerId, reason: 'kicked' });
    expect(await bob.client.fail('data.send', { payload: 'x' })).toMatchObject({ code: 'NOT_IN_ROOM' });
    expect((await call('POST', `/v1/rooms/peers-room/peers/${bob.peerId}/kick`, {})).status).toBe(404);
    // The kicked connection stays open and may come back if its token allows.
    expect((await bob.client.ok('room.join', { room: 'peers-room' })).peers.map((p) => p.userId)).toEqual(['ada']);
  });
});

describe('control API: tokens', () => {
  it('mints a join token that the WebSocket endpoint accepts for that room only', async () => {
    const res = await call('POST', '/v1/tokens', { userId: 'carol', room: 'tok-room', name: 'Carol', ttlSeconds: 600 });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const client = await TestClient.open(server.wsUrl, res.body?.token as string);
    clients.push(client);
    expect((await client.nextEvent('session.ready')).data).toMatchObject({ userId: 'carol', name: 'Carol' });
    expect((await client.ok('room.join', { room: 'tok-room' })).peer.userId).toBe('carol');
    await client.ok('room.leave', {});
    expect(await client.fail('room.join', { room: 'elsewhere' })).toMatchObject({ code: 'FORBIDDEN' });
    const noCreate = await call('POST', '/v1/tokens', { userId: 'dan', room: 'never-made', create: false });
    const dan = await TestClient.open(server.wsUrl, noCreate.body?.token as string);
    clients.push(dan);
    expect(await dan.fail('room.join', { room: 'never-made' })).toMatchObject({ code: 'ROOM_NOT_FOUND' });
  });
});

describe('control API: dead letters without webhooks', () => {
  it('lists none, and there is nothing to redeliver', async () => {
    expect((await call('GET', '/v1/webhooks/dead-letters', undefined, RO)).body).toEqual({ deadLetters: [], unreachable: [] });
    expect((await call('POST', '/v1/webhooks/dead-letters/EV_x/redeliver')).status).toBe(404);
    expect((await call('DELETE', '/v1/webhooks/dead-letters/EV_x')).status).toBe(404);
  });
});

describe('control API: OpenAPI', () => {
  it('serves a valid OpenAPI 3.1 document covering every route, and browsable docs', async () => {
    const res = await fetch(`${server.url}/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(operations.sort()).toEqual(
      [
        'GET /v1/rooms',
        'POST /v1/rooms',
        'GET /v1/rooms/{roomId}',
        'PATCH /v1/rooms/{roomId}',
        'DELETE /v1/rooms/{roomId}',
        'POST /v1/rooms/{roomId}/data',
        'GET /v1/rooms/{roomId}/peers',
        'GET /v1/rooms/{roomId}/peers/{peerId}',
        'PATCH /v1/rooms/{roomId}/peers/{peerId}',
        'POST /v1/rooms/{roomId}/peers/{peerId}/kick',
        'POST /v1/rooms/{roomId}/peers/{peerId}/data',
        'POST /v1/tokens',
        'GET /v1/webhooks/dead-letters',
        'POST /v1/webhooks/dead-letters/{eventId}/redeliver',
        'DELETE /v1/webhooks/dead-letters/{eventId}',
        'GET /v1/console/overview',
        'GET /v1/console/history',
        'GET /v1/console/stream',
        'GET /v1/inspect',
      ].sort(),
    );
    const docs = await fetch(`${server.url}/v1/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger-ui');
  });
});
