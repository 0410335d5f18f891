import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** The demo's static files and the SDK's browser bundle, found through their packages. */
function paths() {
  const demo = join(dirname(fileURLToPath(import.meta.resolve('@heliograph/demo/package.json'))), 'public');
  const sdk = dirname(fileURLToPath(import.meta.resolve('@heliograph/client/bundle')));
  return { demo, sdk };
}

/** Serves the demo web app at `/` and the client SDK bundle at `/sdk/heliograph-client.js`. */
export function registerDemoRoutes(app: FastifyInstance): void {
  const { demo, sdk } = paths();
  void app.register(fastifyStatic, { root: demo, prefix: '/', index: 'index.html', cacheControl: false });
  void app.register(fastifyStatic, {
    root: sdk,
    prefix: '/sdk/',
    decorateReply: false,
    cacheControl: false,
    allowedPath: (path) => path === '/heliograph-client.js' || path === '/heliograph-client.js.map',
  });
}
