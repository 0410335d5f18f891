import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import type { LoginThrottle } from '../auth/login-throttle.js';
import type { ConsoleAdmins } from './console-admins.js';

/** The dashboard's files (`admin-ui/` of this package) and uPlot's, found through its package. */
function paths() {
  const ui = fileURLToPath(new URL('../../admin-ui/', import.meta.url));
  const uplot = join(dirname(fileURLToPath(import.meta.resolve('uplot'))));
  return { ui, uplot };
}

const UPLOT_FILES = new Set(['/uPlot.iife.min.js', '/uPlot.min.css']);

const SignIn = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);
const Session = Type.Object({ token: Type.String(), expiresAt: Type.Number() });

/**
 * The operator dashboard at `/admin/`: static files only. Everything it shows comes from the
 * control API with the key the operator gives it, so without a key it shows nothing. With
 * `signIn`, `POST /admin/login` also lets a built-in account with the admin role in.
 */
export function registerAdminPages(app: FastifyInstance, signIn?: { admins: ConsoleAdmins; throttle: LoginThrottle }): void {
  const { ui, uplot } = paths();
  app.get('/admin', (_request, reply) => reply.redirect('/admin/'));
  if (signIn) {
    app.post<{ Body: Static<typeof SignIn> }>(
      '/admin/login',
      { schema: { body: SignIn, response: { 200: Session } }, bodyLimit: 4096 },
      async (request, reply) => {
        const { username, password } = request.body;
        // Counted as a failure before the slow password check, as the demo's login is.
        const attempt = signIn.throttle.begin(username, request.ip);
        const session = await signIn.admins.signIn(username, password).catch((err: unknown) => {
          request.log.info({ audit: true, username, address: request.ip }, 'console sign-in refused');
          throw err;
        });
        attempt.succeed();
        request.log.info({ audit: true, username, address: request.ip }, 'console sign-in');
        void reply.header('cache-control', 'no-store');
        return session;
      },
    );
  }
  void app.register(fastifyStatic, { root: ui, prefix: '/admin/', index: 'index.html', decorateReply: false, cacheControl: false });
  void app.register(fastifyStatic, {
    root: uplot,
    prefix: '/admin/vendor/',
    decorateReply: false,
    cacheControl: false,
    allowedPath: (path) => UPLOT_FILES.has(path),
  });
}
