import {
  CLOSE_CODES,
  PROTOCOL_VERSION,
  decodeRequest,
  encodeError,
  encodeEvent,
  encodeOk,
  peekRequestId,
  type ErrorBody,
  type LeaveReason,
  type Request,
  type RequestId,
  type RequestOf,
} from '@heliograph/protocol';
import type { WebSocket } from 'ws';
import type { Clock } from '@heliograph/common';
import type { ClientSession, SessionLink } from '../sessions/client-session.js';
import type { LoggedEvent } from '../sessions/event-log.js';
import type { SessionRegistry } from '../sessions/session-registry.js';
import { AppError } from '../shared/app-error.js';
import type { ErrorReporter } from '../shared/error-reporter.js';
import type { Logger } from '../shared/logger.js';
import type { Dispatcher } from './dispatcher.js';
import type { RequestLimits, RequestQuota } from './request-limits.js';
import { TokenBucket } from './token-bucket.js';
import { WriteBatcher } from './write-batching.js';

export interface ConnectionLimits {
  maxFrameBytes: number;
  /** Deepest nesting a frame may have (`limits.maxDepth`). */
  maxDepth: number;
  maxBufferedBytes: number;
  messagesPerSecond: number;
  messageBurst: number;
  floodCloseAfter: number;
  invalidCloseAfter: number;
  /**
   * The node's rates per user and per address, shared by their connections. Carried with the
   * limits because the gateway hands every connection its `limits` as they are.
   */
  requests?: RequestLimits | undefined;
}

export interface ConnectionDeps {
  dispatcher: Dispatcher;
  sessions: SessionRegistry;
  clock: Clock;
  logger: Logger;
  errors: ErrorReporter;
  limits: ConnectionLimits;
  /** The client's address (after trusted proxies), for the per-address request rate. */
  address: string;
  /** Called once, when the socket has closed (and its session has ended or waits for a resume). */
  onClosed: (conn: Connection) => void;
}

/** How long a closing socket may take to finish the close handshake before it is destroyed. */
const CLOSE_GRACE_MS = 1000;
const PEEK_BYTES = 512;

/** Close codes the server sends after which the session may still be resumed: the socket, not the client, failed. */
const RESUMABLE_CLOSES: ReadonlySet<number> = new Set([CLOSE_CODES.PING_TIMEOUT, CLOSE_CODES.GOING_AWAY]);
/** What `ws` reports when the socket ended without a close frame: the network, not the client, ended it. */
const ABNORMAL_CLOSURE = 1006;

/**
 * One authenticated native-protocol WebSocket: reads frames (limits, rate, decoding) and hands
 * requests to the dispatcher on behalf of its session, which it carries events for. A resume
 * moves it to the session it resumes; a drop leaves that session waiting for another socket.
 */
export class Connection implements SessionLink {
  /** Pings sent since the last pong; the heartbeat drops the connection past the limit. */
  missedPongs = 0;
  #session: ClientSession;
  #closing = false;
  #closed = false;
  #leaveReason: LeaveReason = 'disconnected';
  /** The close code this side sent, if it started the close. */
  #closeCode: number | undefined;
  #requests = 0;
  #protocolError = false;
  #floodStrikes = 0;
  #invalidInARow = 0;
  /** This connection's own share: one connection cannot spend all of its user's rate. */
  readonly #bucket: TokenBucket;
  readonly #quota: RequestQuota | undefined;
  readonly #out: WriteBatcher;

  constructor(
    readonly ws: WebSocket,
    session: ClientSession,
    readonly deps: ConnectionDeps,
  ) {
    const { identity } = session;
    this.#session = session;
    this.#bucket = new TokenBucket(deps.limits.messagesPerSecond, deps.limits.messageBurst, deps.clock.now());
    this.#quota = deps.limits.requests?.forConnection(identity.userId, deps.address);
    this.#out = new WriteBatcher(ws);
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onFrame(data, isBinary));
    ws.on('pong', () => {
      this.missedPongs = 0;
    });
    ws.on('error', (err) => {
      // `ws` reports only protocol errors here (a frame over the hard cap, invalid UTF-8), never
      // network ones: the client broke the protocol, so its session is not kept for a resume.
      this.#protocolError = true;
      deps.logger.debug({ err, user: identity.userId }, 'socket error');
    });
    ws.on('close', (code: number) => this.#onClose(code));
    session.attach(this);
    const ready: Record<string, unknown> = { userId: identity.userId, protocol: PROTOCOL_VERSION, serverTime: deps.clock.now() };
    if (identity.name !== undefined) {
      ready.name = identity.name;
    }
    if (session.resumable) {
      ready.resume = { session: session.id, secret: session.secret, windowMs: deps.sessions.limits.windowMs };
    }
    session.sendEvent('session.ready', JSON.stringify(ready));
  }

  /** The session this socket carries (another one after a resume). */
  get session(): ClientSession {
    return this.#session;
  }

  get closing(): boolean {
    return this.#closing;
  }

  send(frame: string): boolean {
    return this.#send(frame);
  }

  takenOver(): void {
    this.#closing = true;
    this.ws.terminate();
  }

  /**
   * Starts closing with `code`: from now on nothing more is sent or read. Once the socket has
   * closed, the session waits for a resume (a ping timeout, a drain) or ends, its peer leaving
   * with `leaveReason`.
   */
  shutdown(code: number, reason: string, leaveReason: LeaveReason = 'disconnected'): void {
    if (this.#closing) {
      return;
    }
    this.#closing = true;
    this.#closeCode = code;
    this.#leaveReason = leaveReason;
    this.#out.flush();
    this.ws.close(code, reason);
    const timer = this.deps.clock.setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
    this.ws.once('close', () => this.deps.clock.clearTimeout(timer));
  }

  /** Sends a frame unless the recipient has fallen too far behind; then it is dropped. */
  #send(frame: string): boolean {
    if (this.#closing) {
      return false;
    }
    if (this.ws.bufferedAmount > this.deps.limits.maxBufferedBytes) {
      this.deps.logger.warn({ user: this.#session.identity.userId, buffered: this.ws.bufferedAmount }, 'slow consumer dropped');
      this.shutdown(CLOSE_CODES.SLOW_CONSUMER, 'too much data buffered', 'slow_consumer');
      return false;
    }
    this.#out.send(frame);
    return true;
  }

  /**
   * Nothing a frame does may throw into `ws` (an uncaught exception would take the node down): a
   * bug on the way to the dispatcher is reported and answered INTERNAL.
   */
  #onFrame(raw: Buffer, isBinary: boolean): void {
    try {
      this.#onMessage(raw, isBinary);
    } catch (err) {
      this.deps.errors.report('frame', err);
      try {
        this.#send(encodeError(peekRequestId(raw.toString('utf8', 0, PEEK_BYTES)), { code: 'INTERNAL', message: 'Internal server error' }));
      } catch {
        this.ws.terminate();
      }
    }
  }

  #onMessage(raw: Buffer, isBinary: boolean): void {
    if (this.#closing) {
      return;
    }
    const { limits, clock } = this.deps;
    const now = clock.now();
    // Its own bucket first: a connection over its own rate takes nothing from the shared ones.
    if (!this.#bucket.take(now)) {
      this.#rateLimited(raw, this.#bucket.msUntilNext());
      return;
    }
    if (this.#quota && !this.#quota.take(now)) {
      this.#rateLimited(raw, this.#quota.retryAfterMs());
      return;
    }
    this.#floodStrikes = 0;
    if (isBinary) {
      this.#invalid(null, { code: 'BAD_REQUEST', message: 'Binary frames are not supported; send JSON text' });
      return;
    }
    if (raw.length > limits.maxFrameBytes) {
      const id = peekRequestId(raw.toString('utf8', 0, PEEK_BYTES));
      this.#invalid(id, { code: 'PAYLOAD_TOO_LARGE', message: `The frame is ${raw.length} bytes; the limit is ${limits.maxFrameBytes}` });
      return;
    }
    const decoded = decodeRequest(raw.toString(), limits.maxDepth);
    if (!decoded.ok) {
      this.#invalid(decoded.id, decoded.error);
      return;
    }
    this.#invalidInARow = 0;
    this.#handle(decoded.request);
  }

  #handle(request: Request): void {
    const first = this.#requests++ === 0;
    if (request.type === 'session.resume' && first) {
      this.#resume(request);
      return;
    }
    const session = this.#session;
    const earlier = session.duplicate(request.id);
    if (earlier !== undefined) {
      // Re-sent after a resume: answered once, with the answer it got (or will get) before.
      if (earlier !== 'pending') {
        this.#send(earlier);
      }
      return;
    }
    session.started(request.id);
    const { id } = request;
    this.deps.dispatcher.dispatch(session, request, (frame) => session.answer(id, frame));
  }

  /**
   * Takes over the session the client names, then replays what it missed after its answer. A
   * session another node holds is handed over from there first (cluster mode).
   */
  #resume(request: RequestOf<'session.resume'>): void {
    const { sessions } = this.deps;
    const fresh = this.#session;
    const remote = sessions.holderOf(request.data.session) !== undefined ? sessions.remote : undefined;
    if (!remote) {
      try {
        this.#resumed(request, fresh, sessions.resume(request.data, fresh.identity, this), false);
      } catch (err) {
        this.#resumeFailed(request, err);
      }
      return;
    }
    remote(request.data, fresh.identity).then(
      (session) => {
        // Events may have reached the session since it was installed: the replay is read now,
        // in the same turn as the socket is attached, so that none falls between the two.
        const replay = session.eventsAfter(request.data.lastSeq);
        session.attach(this);
        if (this.#closed) {
          // The socket went while the session was on its way: it waits for another resume.
          session.socketClosed(this, true, 'disconnected');
          return;
        }
        this.#resumed(request, fresh, { session, replay }, true);
      },
      (err: unknown) => this.#resumeFailed(request, err),
    );
  }

  #resumed(request: RequestOf<'session.resume'>, fresh: ClientSession, resumed: { session: ClientSession; replay: LoggedEvent[] }, moved: boolean): void {
    const { session, replay } = resumed;
    this.#session = session;
    fresh.end('disconnected');
    const result: Record<string, unknown> = { replayed: replay.length };
    if (session.peer) {
      result.peer = session.peer.info();
      result.room = session.peer.room.info();
    }
    if (moved) {
      result.resume = { session: session.id, secret: session.secret, windowMs: this.deps.sessions.limits.windowMs };
    }
    session.answer(request.id, encodeOk(request.id, result));
    for (const event of replay) {
      this.#send(encodeEvent(event.type, event.seq, event.dataJson));
    }
  }

  #resumeFailed(request: RequestOf<'session.resume'>, err: unknown): void {
    const error = err instanceof AppError ? err : new AppError('INTERNAL');
    if (!(err instanceof AppError)) {
      this.deps.errors.report('resume', err);
    }
    this.#send(encodeError(request.id, error.toBody()));
  }

  #rateLimited(raw: Buffer, retryAfterMs: number): void {
    if (++this.#floodStrikes >= this.deps.limits.floodCloseAfter) {
      this.shutdown(CLOSE_CODES.RATE_LIMITED, 'rate limit exceeded');
      return;
    }
    const id = peekRequestId(raw.toString('utf8', 0, PEEK_BYTES));
    const error: ErrorBody = { code: 'RATE_LIMITED', message: 'Too many requests; slow down', retryAfterMs };
    this.deps.dispatcher.refused(error.code);
    this.#send(encodeError(id, error));
  }

  #invalid(id: RequestId | null, error: ErrorBody): void {
    this.deps.dispatcher.refused(error.code);
    this.#send(encodeError(id, error));
    if (++this.#invalidInARow >= this.deps.limits.invalidCloseAfter) {
      this.shutdown(CLOSE_CODES.PROTOCOL_VIOLATION, 'too many invalid frames');
    }
  }

  #onClose(code: number): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#closing = true;
    this.#quota?.release();
    this.#session.socketClosed(this, this.#resumable(code), this.#leaveReason);
    this.deps.onClosed(this);
  }

  /**
   * Whether the socket, rather than the client or a limit, ended: then the session may be resumed.
   * A close frame from the client (any code but 4302, or none) ends the session on purpose; so
   * does one `ws` sent for a protocol error (1007, 1009).
   */
  #resumable(code: number): boolean {
    if (this.#closeCode !== undefined) {
      return RESUMABLE_CLOSES.has(this.#closeCode);
    }
    // The client leaves to resume elsewhere (a drain), or the network ended the socket.
    return (code === CLOSE_CODES.SESSION_MOVING || code === ABNORMAL_CLOSURE) && !this.#protocolError;
  }
}
