import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError } from '../shared/app-error.js';
import type { ErrorReporter } from '../shared/error-reporter.js';

/**
 * REST errors have one shape, `{ "error": { "code", "message", ... } }`, with the HTTP status of
 * the code. Fastify's own validation and parsing errors become BAD_REQUEST / PAYLOAD_TOO_LARGE.
 */
export function installErrorHandler(app: FastifyInstance, errors: ErrorReporter): void {
  app.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    if (err instanceof AppError) {
      if (err.extra.retryAfterMs !== undefined) {
        void reply.header('retry-after', Math.ceil(err.extra.retryAfterMs / 1000));
      }
      return reply.status(err.status).send({ error: err.toBody() });
    }
    if (err.validation) {
      const issues = err.validation.map((v) => ({ path: v.instancePath || '/', message: v.message ?? 'invalid' }));
      return reply.status(400).send({ error: { code: 'BAD_REQUEST', message: err.message, issues } });
    }
    if (err.statusCode === 413) {
      return reply.status(413).send({ error: new AppError('PAYLOAD_TOO_LARGE').toBody() });
    }
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(err.statusCode).send({ error: { code: 'BAD_REQUEST', message: err.message } });
    }
    errors.report('http', err, { method: req.method, route: req.routeOptions.url });
    return reply.status(500).send({ error: new AppError('INTERNAL').toBody() });
  });
  app.setNotFoundHandler((_req, reply) => reply.status(404).send({ error: new AppError('NOT_FOUND').toBody() }));
}
