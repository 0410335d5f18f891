import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';

/** The `http.*` timeouts, applied alike to the main port and the Pixel Streaming ports. */
export interface HttpTimeouts {
  /** Whole request headers (and, with TLS, the handshake) within this; also a socket that sends nothing. */
  headersTimeoutMs: number;
  /** Whole request, body included, within this. */
  requestTimeoutMs: number;
  /** An idle keep-alive socket is closed after this long. */
  keepAliveTimeoutMs: number;
  /** No traffic either way for this long closes a socket (not once it is a WebSocket: `ws` turns it off). */
  idleTimeoutMs: number;
}

export interface TlsFiles {
  cert?: string | undefined;
  key?: string | undefined;
}

/**
 * A Node HTTP(S) server with every timeout set. Node's defaults leave a slowloris socket open
 * for minutes, and Fastify's (`requestTimeout: 0`) turn the headers timeout off altogether.
 */
export function createNodeServer(tls: TlsFiles, timeouts: HttpTimeouts, handler: RequestListener): Server {
  // Node throws when the headers timeout is longer than the request timeout.
  const headersTimeout = Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs);
  const options = {
    headersTimeout,
    requestTimeout: timeouts.requestTimeoutMs,
    keepAliveTimeout: timeouts.keepAliveTimeoutMs,
    // Node checks the two timeouts above only this often (30 s by default).
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersTimeout / 4))),
  };
  const server =
    tls.cert && tls.key
      ? (createHttpsServer(
          // Before the handshake no HTTP parser exists, so the headers timeout cannot see the socket.
          { ...options, cert: readFileSync(tls.cert), key: readFileSync(tls.key), handshakeTimeout: headersTimeout },
          handler,
        ) as unknown as Server)
      : createHttpServer(options, handler);
  server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
  server.setTimeout(timeouts.idleTimeoutMs);
  return server;
}
