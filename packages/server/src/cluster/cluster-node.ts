import type { Registry } from 'prom-client';
import type { Clock } from '@heliograph/common';
import { AppError } from '../shared/app-error.js';
import type { Logger } from '../shared/logger.js';
import { readGauge } from '../shared/read-gauge.js';
import type { Bus, BusTiming, NodeId } from './bus.js';
import type { ClusterDirectory } from './directory.js';
import type { NodeMessage } from './messages.js';
import { hasNodeMessageSchema, isNodeMessage } from './message-schemas.js';
import { NodeLinks, type NodeLinksOptions } from './node-links/node-links.js';
import { createRedisBus } from './redis-bus.js';
import type { RedisSettings } from './redis-connection.js';
import { RedisDirectory } from './redis-directory.js';

type RequestType = NodeMessage['type'];
type Handler<T extends RequestType> = (message: Extract<NodeMessage, { type: T }>, from: NodeId) => unknown;

/**
 * This node's membership of a cluster: the bus, the directory, and one request handler per
 * message type (the room core's), and one per module (`module.request`: Pixel Streaming, webhooks).
 */
export class ClusterNode {
  readonly #handlers = new Map<string, (message: NodeMessage, from: NodeId) => unknown>();
  readonly #modules = new Map<string, (body: unknown, from: NodeId) => unknown>();
  #closing: Promise<void> | undefined;

  constructor(
    readonly bus: Bus<NodeMessage>,
    readonly directory: ClusterDirectory & { connect?: () => Promise<void> },
    private readonly logger: Logger,
    /** The direct links the bus was built with, if any (for metrics and tests). */
    private readonly links?: NodeLinks | undefined,
  ) {
    bus.onRequest((message, from) => {
      if (message.type === 'module.request') {
        const module = this.#modules.get(message.module);
        if (!module) {
          throw new AppError('BAD_REQUEST', `Node ${bus.nodeId} has no module "${message.module}"`);
        }
        return module(message.body, from);
      }
      const handler = this.#handlers.get(message.type);
      if (!handler) {
        throw new AppError('BAD_REQUEST', `Node ${bus.nodeId} does not handle "${message.type}"`);
      }
      return handler(message, from);
    });
  }

  get nodeId(): NodeId {
    return this.bus.nodeId;
  }

  /**
   * Sets the handler of a module's requests (`module.request` with that `module`), so that a
   * module keeps its messages to itself. Another node without the module answers BAD_REQUEST.
   */
  handleModule(module: string, handler: (body: unknown, from: NodeId) => unknown): void {
    this.#modules.set(module, handler);
  }

  /** A module's request to node `to` (this node's own is answered here, without the transport). */
  requestModule(to: NodeId, module: string, body: unknown, timeoutMs?: number): Promise<unknown> {
    return this.bus.request(to, { type: 'module.request', module, body }, timeoutMs);
  }

  /** How many other nodes this node has a direct link to now (0 without links). */
  linksUp(): number {
    return this.links?.upCount() ?? 0;
  }

  /**
   * Sets the handler of requests of one type. Only types with a schema in `message-schemas.ts`
   * can be handled: a message reaches a handler only once the bus has checked it.
   */
  handle<T extends RequestType>(type: T, handler: Handler<T>): void {
    if (!hasNodeMessageSchema(type)) {
      throw new Error(`cluster: no schema for node message "${type}"; add it to message-schemas.ts`);
    }
    this.#handlers.set(type, handler as (message: NodeMessage, from: NodeId) => unknown);
  }

  /** `heliograph_cluster_connected` (1 while Redis is reachable), `heliograph_cluster_links` and `heliograph_cluster_nodes` (alive by heartbeat). */
  registerMetrics(registry: Registry): void {
    const gauge = (name: string, help: string, read: () => number) => readGauge(registry, name, help, read);
    gauge('heliograph_cluster_connected', 'Whether this node reaches the cluster (Redis): 1 or 0', () => (this.bus.connected ? 1 : 0));
    gauge('heliograph_cluster_links', 'Other nodes this node has a direct link to (cluster.linkSecret); requests to the others go through Redis', () =>
      this.linksUp(),
    );
    gauge('heliograph_cluster_nodes', 'Nodes alive in the cluster by their heartbeats, this one included', () => this.bus.nodes().length);
  }

  /** Connects the directory and the bus; rejects UNAVAILABLE when Redis cannot be reached. */
  async start(): Promise<void> {
    await this.directory.connect?.();
    await this.bus.start();
    this.logger.info({ nodeId: this.nodeId }, 'joined the cluster');
  }

  /** Leaves the cluster (the others see this node gone at their next heartbeat). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.bus.close();
      await this.directory.close();
    })();
    return this.#closing;
  }
}

export interface RedisClusterOptions {
  nodeId: NodeId;
  redis: RedisSettings;
  timing: BusTiming;
  clock: Clock;
  logger: Logger;
  /**
   * Direct links between nodes (`cluster.linkSecret` set): where this node listens, and the secret
   * every node shares. Without them requests go through Redis.
   */
  links?: Pick<NodeLinksOptions, 'secret' | 'host' | 'port' | 'advertiseHost'> | undefined;
}

/** A node of a cluster over Redis (the `redis.url` setting), with direct links when configured. */
export function createRedisClusterNode(options: RedisClusterOptions): ClusterNode {
  const { nodeId, clock, logger, timing } = options;
  const links = options.links
    ? new NodeLinks({
        nodeId,
        ...options.links,
        clock,
        logger,
        // An idle link pings at the heartbeat's pace; silence for a heartbeat TTL ends it.
        liveness: { pingMs: timing.heartbeatIntervalMs, deadMs: timing.heartbeatTtlMs, maxBufferedBytes: 64 * 1024 * 1024 },
        handshakeTimeoutMs: timing.requestTimeoutMs,
      })
    : undefined;
  const { bus } = createRedisBus<NodeMessage>({ nodeId, redis: options.redis, clock, logger, timing, isMessage: isNodeMessage, links });
  return new ClusterNode(bus, new RedisDirectory(options.redis, logger), logger, links);
}
