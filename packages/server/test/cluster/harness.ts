import { FakeClock, systemClock } from '@heliograph/common';
import { createLogger } from '../../src/shared/logger.js';
import type { Bus, BusTiming } from '../../src/cluster/bus.js';
import type { ClusterDirectory } from '../../src/cluster/directory.js';
import { createMemoryBus, MemoryHub, type MemoryTransport } from '../../src/test-support/memory-bus.js';
import { MemoryDirectory, MemoryDirectoryState } from '../../src/test-support/memory-directory.js';
import { createRedisBus } from '../../src/cluster/redis-bus.js';
import { RedisDirectory } from '../../src/cluster/redis-directory.js';
import { NodeLinks } from '../../src/cluster/node-links/node-links.js';

/** A running node of a test cluster. */
export interface TestNode {
  bus: Bus;
  /** Redis + links only: the node's direct links. */
  links?: NodeLinks;
  /** Memory only: the transport, to cut it from the hub and back. */
  memory?: MemoryTransport;
  /** Vanishes without leaving, like `kill -9`. */
  crash(): void;
}

/**
 * One cluster for the contract suites, over memory or Redis. Time: the memory cluster runs on a
 * FakeClock that `eventually`/`settle` advance; the Redis one on real time with short timings,
 * so its tests wait for conditions and never assert durations.
 */
export interface ClusterHarness {
  readonly timing: BusTiming;
  node(id: string): Promise<TestNode>;
  directory(): Promise<ClusterDirectory>;
  /** Lets time pass until `check()` holds; fails after a bound. */
  eventually(check: () => boolean, what: string): Promise<void>;
  /** Lets time pass until `p` settles, and returns it. */
  settle<T>(p: Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const logger = createLogger('silent');
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

abstract class BaseHarness {
  protected readonly closers: Array<() => Promise<void>> = [];

  async close(): Promise<void> {
    for (const c of this.closers.splice(0).reverse()) {
      await c();
    }
  }
}

export class MemoryHarness extends BaseHarness implements ClusterHarness {
  readonly timing: BusTiming = { heartbeatIntervalMs: 1_000, heartbeatTtlMs: 3_000, requestTimeoutMs: 5_000 };
  readonly clock = new FakeClock();
  readonly hub = new MemoryHub(this.clock);
  readonly state = new MemoryDirectoryState();

  async node(id: string): Promise<TestNode> {
    const { bus, transport } = createMemoryBus({ nodeId: id, hub: this.hub, logger, timing: this.timing });
    this.closers.push(() => bus.close());
    await bus.start();
    return { bus, memory: transport, crash: () => transport.crash() };
  }

  async directory(): Promise<ClusterDirectory> {
    return new MemoryDirectory(this.state);
  }

  async eventually(check: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      await flush();
      if (check()) {
        return;
      }
      this.clock.advance(250);
    }
    throw new Error(`never happened: ${what}`);
  }

  async settle<T>(p: Promise<T>): Promise<T> {
    let done = false;
    const watched = p.finally(() => (done = true));
    watched.catch(() => undefined);
    await this.eventually(() => done, 'the promise to settle');
    return watched;
  }
}

export class RedisHarness extends BaseHarness implements ClusterHarness {
  readonly timing: BusTiming = { heartbeatIntervalMs: 100, heartbeatTtlMs: 600, requestTimeoutMs: 1_000 };
  readonly #url: () => string;
  readonly prefix: string;

  /** `url` is read at each use: the Redis of a test may be restarted. */
  constructor(url: () => string, prefix: string) {
    super();
    this.#url = url;
    this.prefix = prefix;
  }

  get settings() {
    return { url: this.#url(), prefix: this.prefix, commandTimeoutMs: 1_000, maxReconnectDelayMs: 200 };
  }

  async node(id: string): Promise<TestNode> {
    const { bus, transport } = createRedisBus({ nodeId: id, redis: this.settings, clock: systemClock, logger, timing: this.timing });
    this.closers.push(() => bus.close());
    await bus.start();
    return { bus, crash: () => transport.crash() };
  }

  async directory(): Promise<RedisDirectory> {
    const d = new RedisDirectory(this.settings, logger);
    this.closers.push(() => d.close());
    await d.connect();
    return d;
  }

  async eventually(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!check()) {
      if (Date.now() > deadline) {
        throw new Error(`never happened: ${what}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  settle<T>(p: Promise<T>): Promise<T> {
    return p;
  }
}

/** The secret of the links in tests. */
export const LINK_SECRET = 'test-link-secret-0123456789abcdef';

/**
 * Redis with direct links between the nodes: `node()` resolves once the new node and every
 * earlier one have linked both ways, so the contract's requests take the links.
 */
export class RedisLinksHarness extends RedisHarness {
  readonly #nodes: TestNode[] = [];

  makeLinks(id: string, overrides: Partial<ConstructorParameters<typeof NodeLinks>[0]> = {}): NodeLinks {
    return new NodeLinks({
      nodeId: id,
      secret: LINK_SECRET,
      host: '127.0.0.1',
      port: 0,
      clock: systemClock,
      logger,
      liveness: { pingMs: this.timing.heartbeatIntervalMs, deadMs: this.timing.heartbeatTtlMs, maxBufferedBytes: 64 * 1024 * 1024 },
      handshakeTimeoutMs: this.timing.requestTimeoutMs,
      ...overrides,
    });
  }

  override async node(id: string, overrides: Partial<ConstructorParameters<typeof NodeLinks>[0]> = {}, linked = true): Promise<TestNode> {
    const links = this.makeLinks(id, overrides);
    const { bus, transport } = createRedisBus({ nodeId: id, redis: this.settings, clock: systemClock, logger, timing: this.timing, links });
    this.closers.push(() => bus.close());
    await bus.start();
    const node: TestNode = {
      bus,
      links,
      crash: () => {
        transport.crash();
        links.crash();
      },
    };
    if (linked) {
      const others = this.#nodes.filter((n) => n.bus.connected);
      await this.eventually(() => others.every((o) => o.links!.isUp(id) && links.isUp(o.bus.nodeId)), `links between ${id} and the others`);
    }
    this.#nodes.push(node);
    return node;
  }
}
