import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** The dashboard's files (`admin-ui/` of this package) and uPlot's, found through its package. */
function paths() {
  const ui = fileURLToPath(new URL('../../admin-ui/', import.meta.url));
  const uplot = join(dirname(fileURLToPath(import.meta.resolve('uplot'))));
  return { ui, uplot };
}

const UPLOT_FILES = new Set(['/uPlot.iife.min.js', '/uPlot.min.css']);

/**
 * The operator dashboard at `/admin/`: static files only. Everything it shows comes from the
 * control API with the key the operator gives it, so without a key it shows nothing.
 */
export function registerAdminPages(app: FastifyInstance): void {
  const { ui, uplot } = paths();
  app.get('/admin', (_request, reply) => reply.redirect('/admin/'));
  void app.register(fastifyStatic, { root: ui, prefix: '/admin/', index: 'index.html', decorateReply: false, cacheControl: false });
  void app.register(fastifyStatic, {
    root: uplot,
    prefix: '/admin/vendor/',
    decorateReply: false,
    cacheControl: false,
    allowedPath: (path) => UPLOT_FILES.has(path),
  });
}
