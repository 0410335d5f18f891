import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterMessage, NodeId } from '../../src/cluster/bus.js';
import { haveTool } from '../helpers/require-tool.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { RedisHarness } from './harness.js';

// haveTool() throws when CI=true and the tool is missing, so these skip only outside CI, loudly.
const present = haveTool('redis-server', 'redis-server');
const ping = (n: number): ClusterMessage & { n: number } => ({ type: 'ping', n });

/** A master, a replica and a Sentinel: the master dies, the replica takes over, the cluster goes on. */
describe.skipIf(!present)('Redis Sentinel failover', () => {
  const servers: TestRedis[] = [];
  let master: TestRedis;
  let sentinel: TestRedis;
  beforeAll(async () => {
    master = await startRedis();
    const replica = await startRedis({ replicaOf: master.port });
    servers.push(master, replica);
    sentinel = await startRedis({ sentinelOf: master.port, knownReplicas: [replica.port] });
    servers.push(sentinel);
    // No failover before Sentinel knows the replica (declared in its config, so this is quick).
    const s = new Redis(sentinel.url, { lazyConnect: true });
    await s.connect();
    try {
      for (let known = 0; known === 0;) {
        known = ((await s.call('SENTINEL', 'REPLICAS', 'mymaster')) as unknown[]).length;
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      s.disconnect();
    }
  }, 30_000);
  afterAll(async () => {
    for (const s of servers) {
      await s.stop();
    }
  });

  it('reconnects to the promoted replica, with subscriptions, heartbeats and the directory intact', async () => {
    const h = new RedisHarness(() => `redis-sentinel://127.0.0.1:${sentinel.port}/mymaster`, 'sentinel');
    try {
      const [a, b] = [await h.node('A'), await h.node('B')];
      const lost: Array<[NodeId, NodeId]> = [];
      a.bus.onNodeLost((id) => lost.push(['A', id]));
      b.bus.onNodeLost((id) => lost.push(['B', id]));
      const heard: number[] = [];
      await b.bus.subscribe('room:r1', (m) => heard.push((m as ReturnType<typeof ping>).n));
      b.bus.onRequest((m) => ({ echo: (m as ReturnType<typeof ping>).n }));
      const d = await h.directory();
      await d.createRoom({ roomId: 'r1', maxPeers: 2, metadata: {} }, 0);
      await d.addMember({ roomId: 'r1', peerId: 'a1', userId: 'u1', nodeId: 'A' });
      await h.eventually(() => a.bus.nodes().length === 2, 'A to see B');
      // Make sure the replica has every write before the master dies.
      const direct = new Redis(master.url, { lazyConnect: true });
      await direct.connect();
      expect(await direct.call('WAIT', '1', '5000')).toBe(1);
      direct.disconnect();

      await master.kill();
      await h.eventually(() => !a.bus.connected, 'A to notice the master is gone');
      await expect(a.bus.publish('room:r1', ping(0))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      await h.eventually(() => a.bus.connected && b.bus.connected, 'both nodes to reach the new master');
      await a.bus.publish('room:r1', ping(1));
      await h.eventually(() => heard.includes(1), 'B’s subscription on the new master');
      await expect(a.bus.request('B', ping(2))).resolves.toEqual({ echo: 2 });
      expect(await d.locatePeer('a1')).toMatchObject({ nodeId: 'A', roomId: 'r1' });
      expect(lost.filter(([n, id]) => n !== id)).toEqual([]); // nobody judged lost by a failover
    } finally {
      await h.close();
    }
  });
});
