import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterMessage, NodeId } from '../../src/cluster/bus.js';
import type { ClusterDirectory, MemberRecord } from '../../src/cluster/directory.js';
import { haveTool } from '../helpers/require-tool.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { RedisHarness, type TestNode } from './harness.js';

// haveTool() throws when CI=true and the tool is missing, so these skip only outside CI, loudly.
const present = haveTool('redis-server', 'redis-server');
const ping = (n: number): ClusterMessage & { n: number } => ({ type: 'ping', n });
const member = (peerId: string, userId: string, nodeId: string): MemberRecord => ({ roomId: 'r1', peerId, userId, nodeId });

/** Waits until each directory's own connection answers again (it may come back after the bus's). */
async function answering(...directories: ClusterDirectory[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (const d of directories) {
    while (
      !(await d.listRooms().then(
        () => true,
        () => false,
      ))
    ) {
      if (Date.now() > deadline) {
        throw new Error('a directory never answered after the restart');
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Redis dies, hangs and returns: nothing hangs, nothing is lost in silence, everything comes back. */
describe.skipIf(!present)('Redis faults', () => {
  let redis: TestRedis;
  let h: RedisHarness;
  let a: TestNode;
  let b: TestNode;
  const lost: Array<[NodeId, NodeId]> = [];
  const heard: number[] = [];
  let run = 0;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    redis.resume();
    await redis?.stop();
  });
  beforeEach(async () => {
    h = new RedisHarness(() => redis.url, `faults${++run}`); // a fresh key prefix per test
    [a, b] = [await h.node('A'), await h.node('B')];
    lost.length = 0;
    heard.length = 0;
    for (const n of [a, b]) {
      n.bus.onNodeLost((id) => lost.push([n.bus.nodeId, id]));
    }
    b.bus.onRequest((m) => ({ echo: (m as ReturnType<typeof ping>).n }));
    await b.bus.subscribe('room:r1', (m) => heard.push((m as ReturnType<typeof ping>).n));
    await h.eventually(() => a.bus.nodes().length === 2 && b.bus.nodes().length === 2, 'A and B to see each other');
  });
  afterEach(async () => {
    redis.resume();
    await h.close();
  });

  it('fails fast with UNAVAILABLE while Redis is down, then restores subscriptions, heartbeats and state', async () => {
    const d = await h.directory();
    await d.createRoom({ roomId: 'r1', maxPeers: 4, metadata: { m: 1 } }, 5);
    await d.addMember(member('a1', 'u1', 'A'));
    await d.claim('ids', 'Game', { nodeId: 'A', key: 'S1' }, 'rename');
    const slow = a.bus.request('B', { type: 'never' }, 60_000);
    slow.catch(() => undefined);

    await redis.kill();
    await h.eventually(() => !a.bus.connected && !b.bus.connected, 'both nodes to notice');
    await expect(slow).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(a.bus.publish('room:r1', ping(1))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(a.bus.request('B', ping(1))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(a.bus.subscribe('other', () => undefined)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(d.getRoom('r1')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(d.addMember(member('a2', 'u2', 'A'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(lost).toEqual([]); // an unreachable registry condemns nobody

    await redis.restart(); // empty: no persistence
    await h.eventually(() => a.bus.connected && b.bus.connected, 'both nodes to reconnect');
    await a.bus.publish('room:r1', ping(2));
    await h.eventually(() => heard.includes(2), 'B’s subscription to be restored');
    await expect(a.bus.request('B', ping(3))).resolves.toEqual({ echo: 3 });
    await h.eventually(() => a.bus.nodes().length === 2 && b.bus.nodes().length === 2, 'heartbeats to re-register both nodes');
    // Each node learns that the registry had dropped it (so it must restore its state); neither is judged lost by the other.
    await h.eventually(() => lost.some(([n, id]) => n === 'A' && id === 'A') && lost.some(([n, id]) => n === 'B' && id === 'B'), 'self-eviction notices');
    expect(lost.filter(([n, id]) => n !== id)).toEqual([]);

    expect(await d.getRoom('r1')).toBeUndefined();
    expect(await d.restore()).toEqual({ members: [] });
    expect(await d.getRoom('r1')).toEqual({ roomId: 'r1', maxPeers: 4, metadata: { m: 1 }, createdAt: 5, memberCount: 1 });
    expect(await d.locatePeer('a1')).toEqual(member('a1', 'u1', 'A'));
    expect(await d.claims('ids')).toEqual([]); // a claim's module claims it again itself
  });

  it('restore gives up what another node took meanwhile', async () => {
    const [d1, d2] = [await h.directory(), await h.directory()];
    await d1.createRoom({ roomId: 'r1', maxPeers: 4, metadata: {} }, 0);
    await d1.addMember(member('a1', 'u1', 'A'));
    await d1.claim('ids', 'Game', { nodeId: 'A', key: 'S1' }, 'rename');
    await redis.restart();
    await h.eventually(() => a.bus.connected, 'A to reconnect');
    await answering(d1, d2);
    await d2.createRoom({ roomId: 'r1', maxPeers: 4, metadata: {} }, 0);
    await d2.addMember(member('b1', 'u1', 'B')); // the same user, newer session
    await d2.claim('ids', 'Game', { nodeId: 'B', key: 'S2' }, 'rename');
    expect(await d1.restore()).toEqual({ members: [member('a1', 'u1', 'A')] });
    expect(await d1.members('r1')).toEqual([member('b1', 'u1', 'B')]);
  });

  it('restores members into rooms another node created', async () => {
    const [d1, d2] = [await h.directory(), await h.directory()];
    await d1.createRoom({ roomId: 'r1', maxPeers: 3, metadata: { by: 'A' } }, 7);
    await d2.addMember(member('b1', 'u1', 'B'));
    await redis.restart();
    await h.eventually(() => b.bus.connected, 'B to reconnect');
    await answering(d1, d2);
    expect(await d2.restore()).toEqual({ members: [] });
    expect(await d1.getRoom('r1')).toEqual({ roomId: 'r1', maxPeers: 3, metadata: { by: 'A' }, createdAt: 7, memberCount: 1 });
    expect(await d1.locatePeer('b1')).toEqual(member('b1', 'u1', 'B'));
  });

  it('restores a member a hand-over moved here into its room, though this node never wrote the room', async () => {
    const [d1, d2] = [await h.directory(), await h.directory()];
    const { room } = await d1.createRoom({ roomId: 'r1', maxPeers: 3, metadata: { by: 'A' }, emptyTimeoutMs: 900 }, 7);
    await d1.addMember(member('a1', 'u1', 'A'));
    expect(await d2.moveMember(member('a1', 'u1', 'B'), 'A')).toBe(true);
    d2.adoptMember(member('a1', 'u1', 'B'), room);
    await redis.restart();
    await h.eventually(() => b.bus.connected, 'B to reconnect');
    await answering(d1, d2);
    expect(await d2.restore()).toEqual({ members: [] });
    expect(await d1.getRoom('r1')).toEqual({ roomId: 'r1', maxPeers: 3, metadata: { by: 'A' }, emptyTimeoutMs: 900, createdAt: 7, memberCount: 1 });
    expect(await d1.locatePeer('a1')).toEqual(member('a1', 'u1', 'B'));
  });

  it('fails commands to a hung Redis with UNAVAILABLE after the command timeout', async () => {
    const d = await h.directory();
    redis.pause();
    await expect(d.getRoom('r1')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(a.bus.publish('room:r1', ping(1))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // Whichever bound comes first: the request's own timeout or the command timeout.
    const code = await a.bus.request('B', ping(1)).then(
      () => 'answered',
      (err: { code: string }) => err.code,
    );
    expect(['TIMEOUT', 'UNAVAILABLE']).toContain(code);
    redis.resume();
    await h.eventually(() => a.bus.connected, 'A to be connected');
    await expect(h.settle(a.bus.request('B', ping(4)))).resolves.toEqual({ echo: 4 });
  });

  it('refuses to start while Redis is unreachable', async () => {
    await redis.kill();
    await expect(h.node('C')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(h.directory()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await redis.restart();
  });
});
