import { readGauge } from '../shared/read-gauge.js';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, type Registry } from 'prom-client';

export interface MetricsSources {
  connections: () => number;
  rooms: () => number;
  peers: () => number;
}

/**
 * `GET /metrics` in Prometheus text format: the process's own metrics, what the node holds now
 * (read when scraped, so the hot path pays nothing), and whatever components registered.
 */
export function registerMetricsRoutes(app: FastifyInstance, registry: Registry, sources: MetricsSources): void {
  collectDefaultMetrics({ register: registry, prefix: 'heliograph_' });
  const gauge = (name: string, help: string, read: () => number) => readGauge(registry, name, help, read);
  gauge('heliograph_connections', 'Open native-protocol WebSocket connections', sources.connections);
  gauge('heliograph_rooms', 'Live rooms on this node', sources.rooms);
  gauge('heliograph_peers', 'Peers in rooms on this node', sources.peers);
  app.get('/metrics', async (_req, reply) => {
    void reply.type(registry.contentType);
    return registry.metrics();
  });
}
