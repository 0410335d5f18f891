import type { RequestListener } from 'node:http';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { ErrorReporter } from '../shared/error-reporter.js';
import { redactUrl, type Logger } from '../shared/logger.js';
import type { Admission } from '../transport/admission.js';
import { installErrorHandler } from './error-handler.js';
import { clientErrorHandler, frameworkErrors } from './framework-errors.js';
import { createNodeServer, type HttpTimeouts } from './node-server.js';

export interface HttpServerOptions {
  logger: Logger;
  /** Where a route's unexpected error is reported (rate-limited) before the 500. */
  errors: ErrorReporter;
  tls: { cert?: string | undefined; key?: string | undefined };
  /** Largest accepted REST body. */
  bodyLimit?: number;
  /** `http.trustProxy`: the proxies whose `X-Forwarded-For` sets `request.ip`. */
  trustProxy?: string | undefined;
  /** `http.*`: how long a client may take to send a request, or stay idle. */
  timeouts: HttpTimeouts;
  /** Counts this port's sockets with the node's others and serves only health probes past the cap. */
  admission: Admission;
}

/**
 * The Fastify app that owns the listening socket: REST, health, static files. With a
 * certificate it serves HTTPS, and the WebSocket endpoints share the port as WSS.
 */
export function buildHttpServer(options: HttpServerOptions): FastifyInstance {
  const { logger, tls, admission } = options;
  const app = Fastify({
    loggerInstance: logger,
    // Fastify's request log would print URLs verbatim, `?token=` included; ours redacts them.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 65_536,
    // Unknown fields are an error (BAD_REQUEST), as on the WebSocket, not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
    // Refusals before any route runs get the documented error body too.
    clientErrorHandler,
    frameworkErrors,
    // Our own server, so that every Node timeout is set (see node-server.ts) and sockets are counted.
    serverFactory: (handler: RequestListener) => {
      const server = createNodeServer(tls, options.timeouts, admission.requests(handler));
      admission.watch(server);
      return server;
    },
    ...(options.trustProxy ? { trustProxy: options.trustProxy } : {}),
  }) as unknown as FastifyInstance;
  app.addHook('onResponse', (req, reply, done) => {
    req.log.debug({ method: req.method, url: redactUrl(req.url), status: reply.statusCode, ms: reply.elapsedTime }, 'request');
    done();
  });
  installErrorHandler(app, options.errors);
  return app;
}
