import { afterEach, beforeEach } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { nodeToken, startNode, type NodeProcess } from '../helpers/node-process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

/** Flags for sending 1,000 requests in a burst on one connection. */
export const NO_RATE_LIMIT = [
  ...['--limits.messages-per-second', '1000000', '--limits.message-burst', '100000'],
  ...['--limits.user-messages-per-second', '1000000', '--limits.user-message-burst', '100000'],
  ...['--limits.address-messages-per-second', '1000000', '--limits.address-message-burst', '100000'],
];

/**
 * One test's cluster: a real redis-server, `heliograph serve` processes joined to it, and the
 * clients and other resources the test opened. `stop()` closes every one of them, whatever
 * state the test left them in, so a failing test leaves no process or directory behind.
 */
export class NodeCluster {
  #redis: TestRedis | undefined;
  readonly nodes: NodeProcess[] = [];
  readonly #everStarted: NodeProcess[] = [];
  readonly #clients: TestClient[] = [];
  readonly #closers: Array<() => unknown> = [];

  get redis(): TestRedis {
    if (!this.#redis) {
      throw new Error('start() first');
    }
    return this.#redis;
  }

  /** Starts Redis and `count` nodes with `args`; resolves once every node serves. */
  async start(count: number, args: readonly string[] = []): Promise<NodeProcess[]> {
    await this.startRedis();
    return this.startNodes(count, args);
  }

  async startRedis(): Promise<TestRedis> {
    this.#redis = await startRedis();
    return this.#redis;
  }

  /** Starts `count` nodes on `redisUrl` (by default the Redis itself) with `args`. */
  async startNodes(count: number, args: readonly string[] = [], redisUrl = this.redis.url): Promise<NodeProcess[]> {
    const started = await Promise.allSettled(Array.from({ length: count }, () => startNode(['--redis', redisUrl, ...args])));
    const nodes: NodeProcess[] = [];
    for (const result of started) {
      if (result.status === 'fulfilled') {
        nodes.push(result.value);
      }
    }
    this.nodes.push(...nodes);
    this.#everStarted.push(...nodes);
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) {
      throw failed.reason;
    }
    return nodes;
  }

  /** A raw protocol client of `userId` connected to `node` (closed by `stop()`). */
  async client(node: NodeProcess, userId: string): Promise<TestClient> {
    const client = await TestClient.open(node.wsUrl, await nodeToken(userId));
    this.#clients.push(client);
    return client;
  }

  /** Registers something else to close in `stop()` (a balancer, an SDK client). */
  onStop(close: () => unknown): void {
    this.#closers.push(close);
  }

  /** Every node's output, for the report of a failed test. */
  logs(): string {
    return this.#everStarted.map((node, i) => `--- node ${i} (${node.url}, pid ${node.pid}) ---\n${node.output()}`).join('\n');
  }

  /** Forgets the nodes of earlier tests, so that `logs()` tells of this one's. */
  forgetLogs(): void {
    this.#everStarted.length = 0;
  }

  /** Closes clients and extras, kills every node (SIGKILL), stops Redis. Idempotent. */
  async stop(): Promise<void> {
    for (const close of this.#closers.splice(0).reverse()) {
      await Promise.resolve(close()).catch(() => undefined);
    }
    for (const client of this.#clients.splice(0)) {
      client.ws.terminate();
    }
    await Promise.all(this.nodes.splice(0).map((node) => node.stop()));
    await this.#redis?.stop();
    this.#redis = undefined;
  }
}

/**
 * One NodeCluster for the tests of a `describe`: stopped after each test, and the nodes' logs
 * printed when a test fails.
 */
export function useNodeCluster(): NodeCluster {
  const cluster = new NodeCluster();
  beforeEach((test) => {
    cluster.forgetLogs();
    test.onTestFailed(() => console.error(cluster.logs()));
  });
  afterEach(() => cluster.stop());
  return cluster;
}

/** `promise`, or a rejection naming `what` once `timeoutMs` has passed: every wait is bounded. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** How many log lines of `node` carry the message `msg` exactly. */
export function logCount(node: NodeProcess, msg: string): number {
  return node
    .output()
    .split('\n')
    .filter((line) => line.includes(`"msg":${JSON.stringify(msg)}`)).length;
}

/** Polls an asynchronous check (a Redis read) until it holds; fails after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
