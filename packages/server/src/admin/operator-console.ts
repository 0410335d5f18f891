import { readGauge } from '../shared/read-gauge.js';
import type { Registry } from 'prom-client';
import { Compile } from 'typebox/compile';
import type { ClusterNode } from '../cluster/cluster-node.js';
import { Inspector } from '../inspector/inspector.js';
import type { Rooms } from '../rooms/rooms.js';
import type { Clock } from '@heliograph/common';
import type { IdGenerator } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { ConsoleTap } from './console-tap.js';
import { NodeStats, nodeStats, type NodeStatsSources } from './node-stats.js';
import type { Overview } from './overview.js';
import { RequestMetrics } from './request-metrics.js';
import { StatsHistory } from './stats-history.js';
import type { SseStream } from './sse.js';

const checkNodeStats = Compile(NodeStats);

export interface OperatorConsoleDeps {
  nodeId: string;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  registry: Registry;
  rooms: Rooms;
  cluster: ClusterNode | undefined;
  /** The figures' sources other than those the console keeps itself. */
  sources: Omit<NodeStatsSources, 'nodeId' | 'now' | 'requests' | 'registry' | 'inspectorCaptures'>;
}

/** How long one poll of the figures serves other viewers. */
const OVERVIEW_REUSE_MS = 500;

/** How long a node waits for another's figures. */
const STATS_TIMEOUT_MS = 1500;

/**
 * The operator console of one node: the dispatcher's tap (request metrics, the inspector), the
 * figures of the node or cluster, and their routes under /v1/console and /v1/inspect.
 */
export class OperatorConsole {
  readonly requests: RequestMetrics;
  readonly inspector: Inspector;
  readonly tap: ConsoleTap;
  readonly history: StatsHistory;
  /** Open event streams, ended at close so that the HTTP server can stop. */
  readonly streams = new Set<SseStream>();
  readonly #deps: OperatorConsoleDeps;
  readonly #sources: NodeStatsSources;
  #latest: { at: number; pending: Promise<Overview> } | undefined;

  constructor(deps: OperatorConsoleDeps) {
    this.#deps = deps;
    this.requests = new RequestMetrics(deps.registry);
    this.inspector = new Inspector({ nodeId: deps.nodeId, clock: deps.clock, ids: deps.ids, logger: deps.logger, bus: deps.cluster?.bus });
    this.tap = new ConsoleTap(this.requests, this.inspector, deps.clock);
    this.#sources = {
      ...deps.sources,
      nodeId: deps.nodeId,
      now: () => deps.clock.now(),
      requests: this.requests,
      registry: deps.registry,
      inspectorCaptures: () => this.inspector.captures,
    };
    deps.cluster?.handle('console.stats', () => nodeStats(this.#sources));
    this.history = new StatsHistory({ nodeId: deps.nodeId, clock: deps.clock, cluster: deps.cluster, sample: () => nodeStats(this.#sources) });
    this.#registerGauges();
  }

  get clock(): Clock {
    return this.#deps.clock;
  }

  /** After the cluster has started: hears other nodes' inspector captures. */
  start(): Promise<void> {
    this.history.start();
    return this.inspector.start();
  }

  /**
   * This node's figures, and every other live node's in a cluster. Viewers asking within the same
   * half second share one poll of the cluster.
   */
  overview(): Promise<Overview> {
    const now = this.#deps.clock.now();
    if (!this.#latest || now - this.#latest.at >= OVERVIEW_REUSE_MS) {
      const pending = this.#poll();
      this.#latest = { at: now, pending };
      // A failed poll is not reused.
      pending.catch(() => this.#latest?.pending === pending && (this.#latest = undefined));
    }
    return this.#latest.pending;
  }

  async #poll(): Promise<Overview> {
    const { cluster, clock, nodeId } = this.#deps;
    const roomCount = await this.#roomCount();
    const others = cluster ? cluster.bus.nodes().filter((id) => id !== nodeId) : [];
    const nodes = await Promise.all([nodeStats(this.#sources), ...others.map((id) => this.#remoteStats(id))]);
    nodes.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    return { at: clock.now(), node: nodeId, cluster: cluster !== undefined, rooms: roomCount, nodes };
  }

  /** Live rooms: of the node, or of the cluster by the directory (one call, not one per room). */
  async #roomCount(): Promise<number> {
    const { cluster, rooms } = this.#deps;
    if (!cluster) {
      return rooms.count;
    }
    return (await cluster.directory.listRooms()).length;
  }

  /** Ends the event streams and every capture. Idempotent. */
  async close(): Promise<void> {
    this.history.close();
    for (const stream of this.streams) {
      stream.end();
    }
    this.streams.clear();
    await this.inspector.close();
  }

  /** What Prometheus gets beside the request metrics: Pixel Streaming's counts and the captures. */
  #registerGauges(): void {
    const { registry, sources } = this.#deps;
    const gauge = (name: string, help: string, read: () => number) => readGauge(registry, name, help, read);
    gauge(
      'heliograph_pixel_streaming_streamers',
      'Pixel Streaming streamers connected to this node (0 when the dialect is off)',
      () => sources.pixelStreaming()?.streamers ?? 0,
    );
    gauge(
      'heliograph_pixel_streaming_players',
      'Pixel Streaming players connected to this node (0 when the dialect is off)',
      () => sources.pixelStreaming()?.players ?? 0,
    );
    gauge('heliograph_inspector_captures', 'Signalling inspector captures running on this node (at most 8)', () => this.inspector.captures);
  }

  async #remoteStats(id: string): Promise<Overview['nodes'][number]> {
    try {
      const reply = await this.#deps.cluster?.bus.request(id, { type: 'console.stats' }, STATS_TIMEOUT_MS);
      return checkNodeStats.Check(reply) ? reply : { node: id, state: 'unreachable', error: 'answered with something else' };
    } catch (err) {
      return { node: id, state: 'unreachable', error: err instanceof Error ? err.message : String(err) };
    }
  }
}
