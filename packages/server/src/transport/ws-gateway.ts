import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CLOSE_CODES } from '@heliograph/protocol';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Clock, TimerHandle } from '@heliograph/common';
import type { Identity } from '../auth/identity.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import type { SessionRegistry } from '../sessions/session-registry.js';
import { AppError } from '../shared/app-error.js';
import type { ErrorReporter } from '../shared/error-reporter.js';
import type { Logger } from '../shared/logger.js';
import { seconds, type UpgradeTicket } from './admission.js';
import { Connection, type ConnectionLimits } from './connection.js';
import type { Dispatcher } from './dispatcher.js';
import { rejectUpgrade, requestUrl, tokenFromRequest } from './upgrade.js';

export interface GatewayOptions {
  path: string;
  verifier: TokenVerifier;
  dispatcher: Dispatcher;
  sessions: SessionRegistry;
  clock: Clock;
  logger: Logger;
  errors: ErrorReporter;
  limits: ConnectionLimits & { hardFrameBytes: number; maxConnections: number };
  ping: { intervalMs: number; maxMissed: number };
}

/**
 * The native protocol's WebSocket endpoint: authenticates each upgrade before anything else,
 * enforces the connection cap, and keeps connections alive (or drops them) with pings.
 */
export class WsGateway {
  readonly #opts: GatewayOptions;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<Connection>();
  #pending = 0;
  #heartbeat: TimerHandle | undefined;
  #closed = false;
  #draining = false;
  /** Called when the last connection goes during a drain. */
  #onEmpty: (() => void) | undefined;

  constructor(options: GatewayOptions) {
    this.#opts = options;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.limits.hardFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.#heartbeat = options.clock.setInterval(() => this.#beat(), options.ping.intervalMs);
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Takes an upgrade (admitted by the node's `Admission`) for this gateway's path; false when the path is someone else's. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ticket: UpgradeTicket): boolean {
    const url = requestUrl(req);
    if (url.pathname !== this.#opts.path) {
      return false;
    }
    if (this.#closed || this.#draining) {
      ticket.release();
      rejectUpgrade(socket, 503, { 'retry-after': '1' });
      return true;
    }
    void this.#accept(req, socket, head, url, ticket);
    return true;
  }

  async #accept(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, ticket: UpgradeTicket): Promise<void> {
    const { limits, verifier, logger } = this.#opts;
    const onSocketError = (err: Error) => logger.debug({ err }, 'socket error during handshake');
    socket.on('error', onSocketError);
    // Upgrades still verifying their token count too, so the cap holds while tokens are checked.
    if (this.#connections.size + this.#pending >= limits.maxConnections) {
      ticket.release();
      this.#upgrade(req, socket, head, (ws) => ws.close(CLOSE_CODES.SERVER_FULL, 'server at connection limit'));
      return;
    }
    this.#pending++;
    let identity: Identity | AppError;
    try {
      const token = tokenFromRequest(req, url);
      identity = token ? await verifier.verify(token) : new AppError('UNAUTHORIZED', 'missing token');
    } catch (err) {
      identity = err instanceof AppError ? err : new AppError('UNAUTHORIZED', 'token rejected');
    } finally {
      this.#pending--;
      ticket.release();
    }
    socket.off('error', onSocketError);
    if (socket.destroyed || this.#closed) {
      socket.destroy();
      return;
    }
    if (identity instanceof AppError) {
      logger.info({ reason: identity.message, address: req.socket.remoteAddress }, 'connection refused');
      const reason = identity.message;
      this.#upgrade(req, socket, head, (ws) => ws.close(CLOSE_CODES.UNAUTHORIZED, reason.slice(0, 120)));
      return;
    }
    const waitMs = ticket.admitUser(identity.userId);
    if (waitMs > 0) {
      // A reconnect storm: the user opens connections faster than `limits.connectionsPerSecondPerUser`.
      const reason = `too many connections; retry in ${seconds(waitMs)} s`;
      this.#upgrade(req, socket, head, (ws) => ws.close(CLOSE_CODES.RATE_LIMITED, reason));
      return;
    }
    this.#upgrade(req, socket, head, (ws) => this.#open(ws, identity, ticket.address));
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, then: (ws: WebSocket) => void): void {
    this.#wss.handleUpgrade(req, socket, head, then);
  }

  #open(ws: WebSocket, identity: Identity, address: string): void {
    const { dispatcher, sessions, clock, logger, errors, limits } = this.#opts;
    const conn = new Connection(ws, sessions.create(identity), {
      dispatcher,
      sessions,
      clock,
      logger,
      errors,
      limits,
      address,
      onClosed: (c) => {
        this.#connections.delete(c);
        if (this.#connections.size === 0) {
          this.#onEmpty?.();
        }
      },
    });
    this.#connections.add(conn);
    logger.debug({ user: identity.userId }, 'connection open');
  }

  /** One timer for all connections: drop the silent ones, ping the rest. */
  #beat(): void {
    const { maxMissed } = this.#opts.ping;
    for (const conn of this.#connections) {
      if (conn.missedPongs >= maxMissed) {
        conn.shutdown(CLOSE_CODES.PING_TIMEOUT, 'ping timeout', 'timeout');
      } else {
        conn.missedPongs++;
        conn.ws.ping();
      }
    }
  }

  /**
   * Graceful drain: refuses new connections (HTTP 503), tells every connection `server.draining`,
   * and resolves once they have all gone or at `deadline`, whichever comes first.
   */
  async drain(reason: string, deadline: number, reconnectWithinMs: number): Promise<void> {
    if (this.#closed || this.#draining) {
      return;
    }
    this.#draining = true;
    const json = JSON.stringify({ reason, deadline, reconnectWithinMs });
    for (const conn of this.#connections) {
      conn.session.sendEvent('server.draining', json);
    }
    const { clock } = this.#opts;
    await new Promise<void>((resolve) => {
      const finish = (): void => {
        clock.clearTimeout(timer);
        this.#onEmpty = undefined;
        resolve();
      };
      const timer = clock.setTimeout(finish, Math.max(0, deadline - clock.now()));
      this.#onEmpty = finish;
      if (this.#connections.size === 0) {
        finish();
      }
    });
  }

  /** Stops accepting and closes every connection with 1001, waiting for them to go. */
  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#opts.clock.clearInterval(this.#heartbeat);
    const open = [...this.#connections].filter((conn) => conn.ws.readyState !== conn.ws.CLOSED);
    const closing = open.map(
      (conn) =>
        new Promise<void>((resolve) => {
          conn.ws.once('close', () => resolve());
          conn.shutdown(CLOSE_CODES.GOING_AWAY, 'server shutting down');
          // The grace timer may belong to a fake clock in tests; never wait on it here.
          setTimeout(() => {
            conn.ws.terminate();
            resolve();
          }, 1000).unref();
        }),
    );
    await Promise.all(closing);
    this.#wss.close();
  }
}
