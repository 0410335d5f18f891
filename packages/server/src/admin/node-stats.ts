import Type, { type Static } from 'typebox';
import type { Registry } from 'prom-client';
import type { RequestMetrics } from './request-metrics.js';

const Count = Type.Integer({ minimum: 0 });
const Ms = Type.Union([Type.Number(), Type.Null()]);

/** One node's figures, as the console shows them and as nodes send them to each other. */
export const NodeStats = Type.Object({
  node: Type.String(),
  at: Type.Number({ description: 'Milliseconds since the epoch, when taken' }),
  state: Type.String({ description: 'starting, ready, draining or closing' }),
  connections: Count,
  rooms: Type.Integer({ description: 'Rooms with a member on this node' }),
  peers: Type.Integer({ description: 'Peers of this node' }),
  requests: Type.Integer({ description: 'Requests answered since start' }),
  signals: Type.Integer({ description: 'signal.send acknowledged since start' }),
  errors: Type.Record(Type.String(), Type.Integer(), { description: 'Requests answered with an error since start, by code' }),
  relayP50Ms: Ms,
  relayP99Ms: Type.Union([Type.Number(), Type.Null()], { description: 'Of the latest 2048 relays; null before the first' }),
  webhooks: Type.Union([Type.Object({ pending: Count, dead: Count }), Type.Null()]),
  roomServiceP99Ms: Type.Union([Type.Number(), Type.Null()], { description: "Room-service callouts since start (the histogram bucket's bound)" }),
  pixelStreaming: Type.Union([Type.Object({ streamers: Count, players: Count }), Type.Null()]),
  inspectorCaptures: Count,
});
export type NodeStats = Static<typeof NodeStats>;

/** Where a node's figures come from (read when asked, so the hot path pays nothing). */
export interface NodeStatsSources {
  nodeId: string;
  now(): number;
  state(): string;
  connections(): number;
  rooms(): number;
  peers(): number;
  requests: RequestMetrics;
  registry: Registry;
  webhooks(): { pending: number; dead: number } | undefined;
  pixelStreaming(): { streamers: number; players: number } | undefined;
  inspectorCaptures(): number;
}

export async function nodeStats(s: NodeStatsSources): Promise<NodeStats> {
  const relay = s.requests.relayPercentiles();
  const roomService = await histogramQuantile(s.registry, 'heliograph_room_service_request_duration_seconds', 0.99);
  return {
    node: s.nodeId,
    at: s.now(),
    state: s.state(),
    connections: s.connections(),
    rooms: s.rooms(),
    peers: s.peers(),
    requests: s.requests.requests,
    signals: s.requests.signals,
    errors: Object.fromEntries(s.requests.errorCounts),
    relayP50Ms: relay ? round(relay.p50) : null,
    relayP99Ms: relay ? round(relay.p99) : null,
    webhooks: s.webhooks() ?? null,
    roomServiceP99Ms: roomService === undefined ? null : round(roomService * 1000),
    pixelStreaming: s.pixelStreaming() ?? null,
    inspectorCaptures: s.inspectorCaptures(),
  };
}

/**
 * The `q` quantile of a histogram of the registry (all label sets together), as the upper bound
 * of the bucket it falls in; undefined when the histogram is absent or empty.
 */
export async function histogramQuantile(registry: Registry, name: string, q: number): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  if (!metric) {
    return undefined;
  }
  const buckets = new Map<number, number>();
  for (const v of (await metric.get()).values as Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>) {
    const le = v.labels.le;
    if (v.metricName === `${name}_bucket` && le !== undefined) {
      const bound = le === '+Inf' ? Infinity : Number(le);
      buckets.set(bound, (buckets.get(bound) ?? 0) + v.value);
    }
  }
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total === 0) {
    return undefined;
  }
  const found = sorted.find(([, count]) => count >= q * total);
  const bound = found?.[0] ?? Infinity;
  // Past the last finite bucket: report that bound rather than infinity.
  return Number.isFinite(bound) ? bound : (sorted.filter(([b]) => Number.isFinite(b)).at(-1)?.[0] ?? 0);
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
