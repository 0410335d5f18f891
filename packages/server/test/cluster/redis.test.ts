import { afterAll, beforeAll, describe } from 'vitest';
import { haveTool } from '../helpers/require-tool.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { busContract } from './bus-contract.js';
import { directoryContract } from './directory-contract.js';
import { RedisHarness, RedisLinksHarness } from './harness.js';

// haveTool() throws when CI=true and the tool is missing, so these skip only outside CI, loudly.
const present = haveTool('redis-server', 'redis-server');

describe.skipIf(!present)('Redis implementations', () => {
  let redis: TestRedis;
  let n = 0;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  // A fresh key prefix per test: tests share the server but never each other's state.
  const make = async (): Promise<RedisHarness> => new RedisHarness(() => redis.url, `t${++n}`);
  busContract('redis', make);
  busContract('redis + direct links', async () => new RedisLinksHarness(() => redis.url, `l${++n}`));
  directoryContract('redis', make);
});
