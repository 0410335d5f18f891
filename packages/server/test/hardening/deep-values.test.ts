import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { createLogger } from '../../src/shared/logger.js';

/**
 * The crash routes of the hardening issue: a JSON value nested thousands of levels deep overflowed
 * the stack wherever it was next serialised (the join's reply, a later join into the room), and
 * took the node down. Each is now refused at the edge with BAD_REQUEST naming limits.maxDepth,
 * changes nothing, and everyone else goes on.
 */
const API_KEY = 'rw-key-0123456789-0123456789-0123456789';
const deepArrays = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
/** A 14 KB frame: the size that killed a node. */
const DEEP = deepArrays(7000);

let server: TestServer;
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.close();
});

/** Log lines at `error` or above, to check that refused frames do not flood the logs. */
function errorLines() {
  const lines: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void (JSON.parse(line).level >= 50 && lines.push(line)) });
  return { lines, logger };
}

async function open(user: string): Promise<TestClient> {
  const c = await TestClient.open(server.wsUrl, await server.token(user));
  clients.push(c);
  return c;
}

async function raw(client: TestClient, id: number, type: string, dataJson: string) {
  return client.requestRaw(`{"id":${id},"type":"${type}","data":${dataJson}}`, id);
}

function expectTooDeep(res: Awaited<ReturnType<TestClient['requestRaw']>>, id: number, limit = 32) {
  expect(res).toMatchObject({ id, ok: false, error: { code: 'BAD_REQUEST' } });
  if (!res.ok) {
    expect(res.error.message).toContain(`${limit} levels`);
    expect(res.error.message).toContain('limits.maxDepth');
    expect(res.error.issues?.[0]?.message).toBe(`nested deeper than ${limit} levels`);
  }
}

describe('values nested too deep are refused at the edge and the node stays up', () => {
  it('room.join with deep create.metadata: BAD_REQUEST, no room, others unaffected', async () => {
    const { lines, logger } = errorLines();
    server = await startServer({}, { logger });
    const [alice, bob, mallory] = await Promise.all([open('alice'), open('bob'), open('mallory')]);
    const a = await alice.ok('room.join', { room: 'calm' });
    await bob.ok('room.join', { room: 'calm' });
    expectTooDeep(await raw(mallory, 1, 'room.join', `{"room":"doom","create":{"metadata":{"x":${DEEP}}}}`), 1);
    expectTooDeep(await raw(mallory, 2, 'room.join', `{"room":"calm","metadata":{"x":${DEEP}}}`), 2);
    expect(server.app.rooms.get('doom')).toBeUndefined();
    expect(server.app.rooms.get('calm')?.size).toBe(2);
    // The same client, the node and the room all go on.
    await mallory.ok('room.join', { room: 'doom', create: { metadata: { fine: [[1]] } } });
    await bob.ok('signal.send', { to: a.peer.id, signal: { sdp: 'still here' } });
    await alice.nextEvent('signal');
    expect(lines).toEqual([]);
  });

  it('peer.update with deep metadata: BAD_REQUEST, the stored metadata is unchanged, later joins work', async () => {
    server = await startServer();
    const [alice, bob] = await Promise.all([open('alice'), open('bob')]);
    const joined = await alice.ok('room.join', { room: 'r', metadata: { mood: 'ok' } });
    for (let i = 0; i < 20; i++) {
      expectTooDeep(await raw(alice, 100 + i, 'peer.update', `{"metadata":{"x":${DEEP}}}`), 100 + i);
    }
    const peer = server.app.rooms.get('r')?.peers.get(joined.peer.id);
    expect(peer?.metadata).toEqual({ mood: 'ok' });
    // Before the fix, this join serialised the stored metadata in its reply and killed the node.
    const res = await bob.ok('room.join', { room: 'r' });
    expect(res.peers.map((p) => p.metadata)).toEqual([{ mood: 'ok' }]);
    expect(bob.log.filter((e) => e.type === 'peer.updated')).toEqual([]);
  });

  it('deep signals and data are refused and relay nothing', async () => {
    const { lines, logger } = errorLines();
    server = await startServer({}, { logger });
    const [alice, bob] = await Promise.all([open('alice'), open('bob')]);
    await alice.ok('room.join', { room: 'r' });
    const b = await bob.ok('room.join', { room: 'r' });
    for (let i = 0; i < 20; i++) {
      expectTooDeep(await raw(alice, 200 + i, 'signal.send', `{"to":"${b.peer.id}","signal":{"candidate":${DEEP}}}`), 200 + i);
      expectTooDeep(await raw(alice, 300 + i, 'data.send', `{"payload":${DEEP}}`), 300 + i);
    }
    await alice.ok('signal.send', { to: b.peer.id, signal: { ok: true } });
    const signal = await bob.nextEvent('signal');
    expect(signal.data.signal).toEqual({ ok: true });
    expect(bob.log.filter((e) => e.type === 'data')).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('exactly the limit passes; the limit is limits.maxDepth', async () => {
    server = await startServer({ limits: { maxDepth: 8 } });
    const [alice, bob] = await Promise.all([open('alice'), open('bob')]);
    await alice.ok('room.join', { room: 'r' });
    const b = await bob.ok('room.join', { room: 'r' });
    // Frame and data are two levels; the signal gets the other six.
    const ok = await raw(alice, 1, 'signal.send', `{"to":"${b.peer.id}","signal":${deepArrays(6)}}`);
    expect(ok).toMatchObject({ id: 1, ok: true });
    expectTooDeep(await raw(alice, 2, 'signal.send', `{"to":"${b.peer.id}","signal":${deepArrays(7)}}`), 2, 8);
  });

  it('the control API refuses deep bodies with 400 BAD_REQUEST and stores nothing', async () => {
    server = await startServer({ controlApi: { keys: [{ id: 'ops', key: API_KEY, scope: 'read-write' }] } });
    const alice = await open('alice');
    const joined = await alice.ok('room.join', { room: 'r', metadata: { mood: 'ok' } });
    const call = (method: string, path: string, body: string) =>
      fetch(`${server.url}/v1${path}`, { method, headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body });
    const attempts = [
      call('POST', '/rooms', `{"id":"doom","metadata":{"x":${DEEP}}}`),
      call('PATCH', '/rooms/r', `{"metadata":{"x":${DEEP}}}`),
      call('PATCH', `/rooms/r/peers/${joined.peer.id}`, `{"metadata":{"x":${DEEP}}}`),
      call('POST', '/rooms/r/data', `{"payload":${DEEP}}`),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('BAD_REQUEST');
      expect(body.error.message).toContain('limits.maxDepth');
    }
    expect(server.app.rooms.get('doom')).toBeUndefined();
    expect(server.app.rooms.get('r')?.metadata).toEqual({});
    expect(server.app.rooms.get('r')?.peers.get(joined.peer.id)?.metadata).toEqual({ mood: 'ok' });
    expect(alice.log.filter((e) => e.type === 'data' || e.type === 'room.updated' || e.type === 'peer.updated')).toEqual([]);
    const login = await fetch(`${server.url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"username":${deepArrays(1500)}}`,
    });
    expect(login.status).toBe(400);
  });
});
