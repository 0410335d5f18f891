import { afterAll, beforeAll, describe } from 'vitest';
import { haveTool } from '../helpers/require-tool.js';
import { startRedisCluster, type TestRedisCluster } from '../helpers/redis.js';
import { busContract } from './bus-contract.js';
import { directoryContract } from './directory-contract.js';
import { RedisHarness } from './harness.js';

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
