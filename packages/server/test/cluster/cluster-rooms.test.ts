import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODES } from '@heliograph/protocol';
import { HOOK_SECRET, TestBackend } from '../helpers/business-backend.js';
import { TestClient } from '../helpers/client.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { haveTool } from '../helpers/require-tool.js';
import { NO_RATE_LIMITS, startServer, TEST_SECRET, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

// haveTool throws under CI=true when redis-server is missing, so this never skips in CI.
const hasRedis = haveTool('redis-server', 'redis-server');

/**
 * The room core across two nodes in this process, on a real redis-server: joins, relays,
 * broadcasts, limits, one session per user, and Redis going away and coming back. The same
 * points as separate processes (and kill -9) are in test/cluster-nodes/.
 */
const API_KEY = 'rw-key-0123456789-0123456789-0123456789';

/** A control API call with the read-write key. */
async function call(server: TestServer, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${server.url}/v1${path}`, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`never happened: ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every case runs twice: node-to-node requests through Redis, and over direct links (`cluster.linkSecret`). */
const PATHS = [
  ['through Redis', {}],
  ['with direct links', { linkSecret: 'cluster-rooms-link-secret-0123456789', linkHost: '127.0.0.1' }],
] as const;

describe.skipIf(!hasRedis).each(PATHS)('rooms across two nodes over Redis, requests %s', (_path, links) => {
  let redis: TestRedis;
  let prefix = 0;
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

  async function twoNodes(rooms: { maxPeers?: number } = {}, webhooks: { url?: string; secret?: string } = {}): Promise<[TestServer, TestServer]> {
    const cluster = { heartbeatIntervalMs: 100, heartbeatTtlMs: 600, requestTimeoutMs: 1_000, ...links };
    const redisConfig = { url: redis.url, prefix: `t${++prefix}`, commandTimeoutMs: 500 };
    const limits = NO_RATE_LIMITS;
    const controlApi = { keys: [{ id: 'ops', key: API_KEY, scope: 'read-write' as const }] };
    const a = await startServer({ redis: redisConfig, cluster, rooms, limits, controlApi, webhooks });
    const b = await startServer({ redis: redisConfig, cluster, rooms, limits, controlApi, webhooks });
    servers.push(a, b);
    if ('linkSecret' in links) {
      await until(() => a.app.cluster?.linksUp() === 1 && b.app.cluster?.linksUp() === 1, 5_000, 'the nodes to link');
    }
    return [a, b];
  }

  async function client(server: TestServer, userId: string): Promise<TestClient> {
    const c = await TestClient.open(server.wsUrl, await server.token(userId));
    clients.push(c);
    return c;
  }

  it('joins one room from two nodes; each side sees the other; signals are acked across nodes', async () => {
    const [a, b] = await twoNodes();
    const alice = await client(a, 'alice');
    const bob = await client(b, 'bob');
    const joinedA = await alice.ok('room.join', { room: 'r1' });
    const joinedB = await bob.ok('room.join', { room: 'r1' });
    expect(joinedB.peers.map((p) => p.id)).toEqual([joinedA.peer.id]);
    const seen = await alice.nextEvent('peer.joined');
    expect(seen.data.peer.id).toBe(joinedB.peer.id);

    await bob.ok('signal.send', { to: joinedA.peer.id, signal: { type: 'offer', sdp: 'v=0' } });
    const signal = await alice.nextEvent('signal');
    expect(signal.data).toEqual({ from: joinedB.peer.id, signal: { type: 'offer', sdp: 'v=0' } });
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    expect(metrics).toMatch(/^heliograph_cluster_connected 1$/m);
    expect(metrics).toMatch(/^heliograph_cluster_nodes 2$/m);
    expect(metrics).toMatch(/^heliograph_cluster_relay_seconds_count\{outcome="ok"\} 1$/m);

    expect(await alice.ok('data.send', { payload: { hi: 1 } })).toEqual({ recipients: 1 });
    expect((await bob.nextEvent('data')).data).toEqual({ from: joinedA.peer.id, payload: { hi: 1 } });

    await bob.ok('room.leave', {});
    expect((await alice.nextEvent('peer.left')).data).toEqual({ peerId: joinedB.peer.id, reason: 'left' });
    const error = await alice.fail('signal.send', { to: joinedB.peer.id, signal: { type: 'offer', sdp: 'v=0' } });
    expect(error.code).toBe('PEER_NOT_FOUND');
  });

  it('a room broadcast reaches every member once, wherever it is', async () => {
    const [a, b] = await twoNodes();
    const alice = await client(a, 'alice');
    const amy = await client(a, 'amy');
    const bob = await client(b, 'bob');
    const bert = await client(b, 'bert');
    for (const c of [alice, amy, bob, bert]) {
      await c.ok('room.join', { room: 'cast' });
    }
    await until(() => alice.events.filter((e) => e.type === 'peer.joined').length === 3, 5_000, 'alice to see the others');
    expect(await alice.ok('data.send', { payload: 'hello' })).toEqual({ recipients: 3 });
    await bert.ok('data.send', { payload: 'bye' });
    for (const c of [amy, bob, bert]) {
      await until(() => c.events.some((e) => e.type === 'data' && (e.data as { payload: unknown }).payload === 'hello'), 5_000, 'hello');
    }
    await until(() => alice.events.some((e) => e.type === 'data' && (e.data as { payload: unknown }).payload === 'bye'), 5_000, 'bye');
    // Node A's publications reach node B in order: once 'end' is in, a duplicate 'hello' would be too.
    await alice.ok('data.send', { payload: 'end' });
    await bert.ok('data.send', { payload: 'end' });
    const payloads = (c: TestClient) => c.events.filter((e) => e.type === 'data').map((e) => (e.data as { payload: unknown }).payload);
    for (const c of [alice, amy, bob, bert]) {
      await until(() => payloads(c).filter((p) => p === 'end').length === (c === alice || c === bert ? 1 : 2), 5_000, 'the ends');
    }
    const counts = (c: TestClient) => payloads(c).filter((p) => p !== 'end');
    expect(counts(alice)).toEqual(['bye']);
    expect(counts(amy)).toEqual(['hello', 'bye']);
    expect(counts(bob).sort()).toEqual(['bye', 'hello']);
    expect(counts(bert)).toEqual(['hello']);
  });

  it('keeps per-pair order over 1,000 acked signals across nodes', async () => {
    const [a, b] = await twoNodes();
    const alice = await client(a, 'alice');
    const bob = await client(b, 'bob');
    await alice.ok('room.join', { room: 'order' });
    const { peer } = await bob.ok('room.join', { room: 'order' });
    // Alice learns bob's id from peer.joined, which crosses the bus: only then may she send to him.
    await alice.nextEvent('peer.joined', (e) => e.data.peer.id === peer.id);
    const acks = Array.from({ length: 1_000 }, (_, i) => alice.ok('signal.send', { to: peer.id, signal: { type: 'candidate', n: i } }));
    await Promise.all(acks);
    await until(() => bob.events.filter((e) => e.type === 'signal').length === 1_000, 10_000, '1,000 signals');
    const order = bob.events.filter((e) => e.type === 'signal').map((e) => (e.data as { signal: { n: number } }).signal.n);
    expect(order).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
  });

  it('holds a room limit under concurrent joins spread over both nodes', async () => {
    const [a, b] = await twoNodes({ maxPeers: 3 });
    const all = await Promise.all(Array.from({ length: 10 }, (_, i) => client(i % 2 ? a : b, `u${i}`)));
    const results = await Promise.all(all.map((c) => c.request('room.join', { room: 'small' })));
    const ok = results.filter((r) => r.ok);
    const full = results.filter((r) => !r.ok && r.error.code === 'ROOM_FULL');
    expect(ok).toHaveLength(3);
    expect(full).toHaveLength(7);
  });

  it('keeps one session per user across nodes: the older one is replaced, the others see one peer', async () => {
    const [a, b] = await twoNodes();
    const carol = await client(a, 'carol');
    const first = await client(a, 'dave');
    const { peer: old } = await first.ok('room.join', { room: 'dup' });
    await carol.ok('room.join', { room: 'dup' });
    const second = await client(b, 'dave');
    const { peer: fresh, peers } = await second.ok('room.join', { room: 'dup' });
    expect(peers.map((p) => p.userId).sort()).toEqual(['carol']);
    await first.nextEvent('session.replaced');
    expect((await first.closed).code).toBe(CLOSE_CODES.SESSION_REPLACED);
    expect((await carol.nextEvent('peer.left')).data).toEqual({ peerId: old.id, reason: 'replaced' });
    expect((await carol.nextEvent('peer.joined')).data.peer.id).toBe(fresh.id);
    expect([...a.app.rooms.get('dup')!.peers.values()].map((p) => p.userId).sort()).toEqual(['carol', 'dave']);
  });

  it('with Redis gone: same-node relays go on, cross-node ones fail UNAVAILABLE; when it returns, they work again', async () => {
    const [a, b] = await twoNodes();
    const alice = await client(a, 'alice');
    const amy = await client(a, 'amy');
    const bob = await client(b, 'bob');
    const { peer: pa } = await alice.ok('room.join', { room: 'outage' });
    await amy.ok('room.join', { room: 'outage' });
    const { peer: pb } = await bob.ok('room.join', { room: 'outage' });
    await alice.nextEvent('peer.joined', (e) => e.data.peer.id === pb.id);

    await redis.kill();
    await until(() => !a.app.cluster!.bus.connected, 5_000, 'node A to notice');
    expect((await alice.fail('signal.send', { to: pb.id, signal: { n: 1 } })).code).toBe('UNAVAILABLE');
    await amy.ok('signal.send', { to: pa.id, signal: { n: 2 } });
    expect((await alice.nextEvent('signal')).data.signal).toEqual({ n: 2 });
    // A room broadcast reaches this node's peers and says so: bob, on the other node, is not counted.
    expect(await alice.ok('data.send', { payload: 'local only' })).toEqual({ recipients: 1 });
    expect((await (await client(b, 'zed')).fail('room.join', { room: 'outage' })).code).toBe('UNAVAILABLE');

    await redis.restart();
    await until(() => a.app.cluster!.bus.connected && b.app.cluster!.bus.connected, 10_000, 'both nodes to reconnect');
    // Redis came back empty: each node writes its members back, then cross-node relays work.
    await eventually(async () => (await a.app.cluster!.directory.members('outage').catch(() => [])).length === 3, 'the members to be restored');
    await alice.ok('signal.send', { to: pb.id, signal: { n: 3 } });
    expect((await bob.nextEvent('signal')).data.signal).toEqual({ n: 3 });
    const late = await client(b, 'zoe');
    const { peers } = await late.ok('room.join', { room: 'outage' });
    expect(peers.map((p) => p.userId).sort()).toEqual(['alice', 'amy', 'bob']);
    // Nobody was told that anyone left: the outage cost cross-node relays, not the room.
    expect([...alice.events, ...amy.events, ...bob.events].filter((e) => e.type === 'peer.left')).toEqual([]);
  });

  it('answers the control API on any node for rooms and peers held by another', async () => {
    const [a, b] = await twoNodes();
    const alice = await client(a, 'alice');
    const bob = await client(a, 'bob');
    const { peer: pa } = await alice.ok('room.join', { room: 'ops', create: { metadata: { topic: 'x' }, emptyTimeoutMs: 4321 } });
    const { peer: pb } = await bob.ok('room.join', { room: 'ops' });

    const listed = await call(b, 'GET', '/rooms');
    expect(listed.body?.rooms).toEqual([expect.objectContaining({ id: 'ops', peers: 2, metadata: { topic: 'x' }, emptyTimeoutMs: 4321 })]);
    expect((await call(b, 'GET', '/rooms/ops')).body).toMatchObject({ emptyTimeoutMs: 4321 });
    const peers = await call(b, 'GET', '/rooms/ops/peers');
    expect(peers.body?.peers.map((p: { id: string }) => p.id).sort()).toEqual([pa.id, pb.id].sort());

    const updated = await call(b, 'PATCH', `/rooms/ops/peers/${pb.id}`, { permissions: { signal: false } });
    expect(updated.body?.permissions.signal).toBe(false);
    expect((await bob.fail('signal.send', { to: pa.id, signal: {} })).code).toBe('FORBIDDEN');
    expect((await call(a, 'GET', `/rooms/ops/peers/${pb.id}`)).body?.permissions.signal).toBe(false);

    expect((await call(b, 'POST', `/rooms/ops/peers/${pa.id}/data`, { payload: { n: 1 } })).body).toEqual({ recipients: 1 });
    expect((await alice.nextEvent('data')).data).toEqual({ from: 'server', payload: { n: 1 } });

    expect((await call(b, 'POST', `/rooms/ops/peers/${pb.id}/kick`, { reason: 'bye' })).status).toBe(204);
    expect((await bob.nextEvent('room.kicked')).data).toMatchObject({ reason: 'bye' });
    expect((await alice.nextEvent('peer.left')).data).toEqual({ peerId: pb.id, reason: 'kicked' });

    expect((await call(b, 'POST', '/rooms', { id: 'ops' })).status).toBe(409);
    expect((await call(b, 'POST', '/rooms', { id: 'fresh' })).status).toBe(201);
    const carol = await client(a, 'carol');
    await carol.ok('room.join', { room: 'fresh' });

    expect((await call(b, 'DELETE', '/rooms/ops?reason=done')).status).toBe(204);
    expect((await alice.nextEvent('room.closed')).data).toMatchObject({ reason: 'done' });
    await eventually(async () => (await call(a, 'GET', '/rooms/ops')).status === 404, 'the room to be gone everywhere');
  });

  it("numbers a room's webhook events in one sequence shared by the nodes", async () => {
    const backend = await new TestBackend({ jwtSecret: TEST_SECRET }).start();
    try {
      const [a, b] = await twoNodes({}, { url: backend.webhookUrl, secret: HOOK_SECRET });
      const alice = await client(a, 'alice');
      await alice.ok('room.join', { room: 'hooks' });
      const bob = await client(b, 'bob');
      await bob.ok('room.join', { room: 'hooks' });
      await bob.ok('room.leave', {});
      await alice.ok('room.leave', {});
      const inRoom = () => backend.events.filter((e) => e.room === 'hooks');
      // room.started, 2 × peer.joined, 2 × peer.left, and room.finished once the empty timer ends it.
      await until(() => inRoom().length >= 5, 10_000, 'five webhook events of the room');
      const seqs = inRoom()
        .map((e) => e.seq)
        .sort((x, y) => x - y);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(
        inRoom()
          .filter((e) => e.type === 'peer.joined')
          .map((e) => (e.data as { peer: { userId: string } }).peer.userId)
          .sort(),
      ).toEqual(['alice', 'bob']);
    } finally {
      await backend.stop();
    }
  });
});
