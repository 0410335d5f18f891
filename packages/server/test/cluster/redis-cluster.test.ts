import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveTool } from '../helpers/require-tool.js';
import { startRedisCluster, type TestRedisCluster } from '../helpers/redis.js';
import { busContract } from './bus-contract.js';
import { directoryContract } from './directory-contract.js';
import { RedisHarness } from './harness.js';

// haveTool() throws when CI=true and the tool is missing, so these skip only outside CI, loudly.
const present = haveTool('redis-server', 'redis-server') && haveTool('redis-cli', 'redis-tools');

/** The same contracts on a three-shard Redis Cluster: sharded pub/sub, the directory in one slot. */
describe.skipIf(!present)('Redis Cluster implementations', () => {
  let cluster: TestRedisCluster;
  let n = 0;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
  }, 30_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  const make = async (): Promise<RedisHarness> => new RedisHarness(() => cluster.url, `k${++n}`);
  busContract('redis cluster', make);
  directoryContract('redis cluster', make);
});

describe.skipIf(!present)('Redis Cluster: a shard dies and returns', () => {
  let cluster: TestRedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
  }, 30_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('requests never hang meanwhile, and every sharded subscription works again afterwards', async () => {
    const h = new RedisHarness(() => cluster.url, 'shard');
    try {
      const [a, b] = [await h.node('A'), await h.node('B')];
      b.bus.onRequest((m) => ({ echo: m.type }));
      // Enough channels that some live on the shard that dies.
      const channels = Array.from({ length: 12 }, (_, i) => `room:${i}`);
      const heard = new Set<string>();
      for (const c of channels) {
        await b.bus.subscribe(c, (m) => heard.add(`${c}/${m.type}`));
      }

      // Make sure some of those channels live on the shard about to die.
      const direct = new Redis(cluster.nodes[0]!.url);
      const ranges = ((await direct.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>)
        .filter(([, , [, port]]) => port === cluster.nodes[0]!.port)
        .map(([from, to]) => [from, to] as const);
      let onIt = 0;
      for (const c of channels) {
        const slot = (await direct.call('CLUSTER', 'KEYSLOT', `shard:c:${c}`)) as number;
        onIt += ranges.some(([from, to]) => slot >= from && slot <= to) ? 1 : 0;
      }
      direct.disconnect();
      expect(onIt).toBeGreaterThan(0);

      await cluster.nodes[0]!.kill();
      const during = await h.settle(a.bus.request('B', { type: 'during' })).then(
        () => 'answered',
        (err: { code: string }) => err.code,
      );
      expect(['answered', 'UNAVAILABLE', 'TIMEOUT']).toContain(during);

      await cluster.nodes[0]!.restart(); // same port and nodes.conf: it takes its slots back, empty
      const deadline = Date.now() + 20_000;
      while (channels.some((c) => !heard.has(`${c}/after`)) && Date.now() < deadline) {
        for (const c of channels.filter((c) => !heard.has(`${c}/after`))) {
          await a.bus.publish(c, { type: 'after' }).catch(() => undefined);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(channels.filter((c) => !heard.has(`${c}/after`))).toEqual([]);
      await h.eventually(() => a.bus.connected, 'A to be connected');
      await expect(a.bus.request('B', { type: 'after' })).resolves.toEqual({ echo: 'after' });
    } finally {
      await h.close();
    }
  });
});
