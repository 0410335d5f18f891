import type { FastifyInstance } from 'fastify';

/** `/healthz`: the process is up. `/readyz`: it accepts traffic (not starting or draining). */
export function registerHealthRoutes(app: FastifyInstance, isReady: () => boolean): void {
  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', (_req, reply) => (isReady() ? { status: 'ready' } : reply.status(503).send({ status: 'not ready' })));
}
