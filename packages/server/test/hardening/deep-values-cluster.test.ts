import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { haveTool } from '../helpers/require-tool.js';
import { startServer, type TestServer } from '../helpers/server.js';

// haveTool throws under CI=true when redis-server is missing, so this never skips in CI.
const hasRedis = haveTool('redis-server', 'redis-server');
const DEEP = `${'['.repeat(7000)}${']'.repeat(7000)}`;

/**
 * The crash routes in a two-node cluster over a real redis-server: a deep value joined or stored
 * on one node used to kill that node, or the node a later join landed on. Both nodes stay up and
 * cross-node calls go on.
 */
describe.skipIf(!hasRedis)('values nested too deep, two nodes over Redis', () => {
  let redis: TestRedis;
  const servers: TestServer[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function client(server: TestServer, userId: string): Promise<TestClient> {
    const c = await TestClient.open(server.wsUrl, await server.token(userId));
    clients.push(c);
    return c;
  }

  it('are refused on either node; both stay up and relay across nodes', async () => {
    const redisConfig = { url: redis.url, prefix: 'deep', commandTimeoutMs: 500 };
    const cluster = { heartbeatIntervalMs: 100, heartbeatTtlMs: 600, requestTimeoutMs: 1_000 };
    const a = await startServer({ redis: redisConfig, cluster });
    const b = await startServer({ redis: redisConfig, cluster });
    servers.push(a, b);
    const alice = await client(a, 'alice');
    const mallory = await client(b, 'mallory');
    const joined = await alice.ok('room.join', { room: 'r', metadata: { mood: 'ok' } });

    const join = await mallory.requestRaw(`{"id":1,"type":"room.join","data":{"room":"r","create":{"metadata":${DEEP}},"metadata":{"x":${DEEP}}}}`, 1);
    expect(join).toMatchObject({ id: 1, ok: false, error: { code: 'BAD_REQUEST' } });
    const m = await mallory.ok('room.join', { room: 'r' });
    const update = await mallory.requestRaw(`{"id":2,"type":"peer.update","data":{"metadata":{"x":${DEEP}}}}`, 2);
    expect(update).toMatchObject({ id: 2, ok: false, error: { code: 'BAD_REQUEST' } });
    const signal = await mallory.requestRaw(`{"id":3,"type":"signal.send","data":{"to":"${joined.peer.id}","signal":${DEEP}}}`, 3);
    expect(signal).toMatchObject({ id: 3, ok: false, error: { code: 'BAD_REQUEST' } });

    // A newcomer on A joins the room holding mallory's (unchanged) metadata, and calls across nodes work.
    const carol = await client(a, 'carol');
    const c = await carol.ok('room.join', { room: 'r' });
    expect(c.peers.map((p) => p.userId).sort()).toEqual(['alice', 'mallory']);
    await mallory.ok('signal.send', { to: joined.peer.id, signal: { sdp: 'across' } });
    expect((await alice.nextEvent('signal')).data).toMatchObject({ from: m.peer.id, signal: { sdp: 'across' } });
    for (const s of [a, b]) {
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    }
  });
});
