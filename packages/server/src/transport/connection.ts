import {
  CLOSE_CODES,
  PROTOCOL_VERSION,
  decodeRequest,
  encodeError,
  encodeEvent,
  peekRequestId,
  type ErrorBody,
  type EventType,
  type LeaveReason,
  type RequestId,
} from '@heliograph/protocol';
import type { WebSocket } from 'ws';
import type { Identity } from '../auth/identity.js';
import type { Session } from '../handlers/index.js';
import type { Delivery, Peer, PeerSink } from '../rooms/peer.js';
import type { Rooms } from '../rooms/rooms.js';
import type { Clock } from '../shared/clock.js';
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
  rooms: Rooms;
  clock: Clock;
  logger: Logger;
  errors: ErrorReporter;
  limits: ConnectionLimits;
  /** The client's address (after trusted proxies), for the per-address request rate. */
  address: string;
  /** Called once, when the socket has closed and the peer has left its room. */
  onClosed: (conn: Connection) => void;
}

/** How long a closing socket may take to finish the close handshake before it is destroyed. */
const CLOSE_GRACE_MS = 1000;
const PEEK_BYTES = 512;

/**
 * One authenticated native-protocol WebSocket: reads frames (limits, rate, decoding), hands
 * requests to the dispatcher, and is the peer's sink for events while it is in a room.
 */
export class Connection implements Session, PeerSink {
  peer: Peer | undefined;
  /** Pings sent since the last pong; the heartbeat drops the connection past the limit. */
  missedPongs = 0;
  readonly sink: PeerSink = this;
  #seq = 0;
  #closing = false;
  #closed = false;
  #leaveReason: LeaveReason = 'disconnected';
  #floodStrikes = 0;
  #invalidInARow = 0;
  /** This connection's own share: one connection cannot spend all of its user's rate. */
  readonly #bucket: TokenBucket;
  readonly #quota: RequestQuota | undefined;
  readonly #out: WriteBatcher;
  readonly #reply = (frame: string): void => {
    this.#send(frame);
  };

  constructor(
    readonly ws: WebSocket,
    readonly identity: Identity,
    readonly deps: ConnectionDeps,
  ) {
    this.#bucket = new TokenBucket(deps.limits.messagesPerSecond, deps.limits.messageBurst, deps.clock.now());
    this.#quota = deps.limits.requests?.forConnection(identity.userId, deps.address);
    this.#out = new WriteBatcher(ws);
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onFrame(data, isBinary));
    ws.on('pong', () => {
      this.missedPongs = 0;
    });
    ws.on('error', (err) => deps.logger.debug({ err, user: identity.userId }, 'socket error'));
    ws.on('close', () => this.#onClose());
    const ready: Record<string, unknown> = { userId: identity.userId, protocol: PROTOCOL_VERSION, serverTime: deps.clock.now() };
    if (identity.name !== undefined) {
      ready.name = identity.name;
    }
    this.sendEvent('session.ready', JSON.stringify(ready));
  }

  get closing(): boolean {
    return this.#closing;
  }

  acknowledge(_seq: number): void {}

  sendEvent(type: EventType, dataJson: string): Delivery {
    if (this.#closing) {
      return 'gone';
    }
    return this.#send(encodeEvent(type, ++this.#seq, dataJson)) ? 'ok' : 'overloaded';
  }

  detached(reason: LeaveReason, detail?: string): void {
    this.peer = undefined;
    if (reason === 'replaced') {
      this.sendEvent('session.replaced', '{}');
      this.shutdown(CLOSE_CODES.SESSION_REPLACED, 'session replaced by a newer connection');
    } else if (reason === 'room_closed') {
      this.sendEvent('room.closed', JSON.stringify({ reason: detail ?? 'closed' }));
    } else if (reason === 'kicked') {
      this.sendEvent('room.kicked', JSON.stringify({ reason: detail ?? 'kicked' }));
    }
  }

  /**
   * Starts closing with `code`: from now on nothing more is sent or read, and the peer leaves its
   * room (with `leaveReason`) once the socket has closed.
   */
  shutdown(code: number, reason: string, leaveReason: LeaveReason = 'disconnected'): void {
    if (this.#closing) {
      return;
    }
    this.#closing = true;
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
      this.deps.logger.warn({ user: this.identity.userId, buffered: this.ws.bufferedAmount }, 'slow consumer dropped');
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
    this.deps.dispatcher.dispatch(this, decoded.request, this.#reply);
  }

  #rateLimited(raw: Buffer, retryAfterMs: number): void {
    if (++this.#floodStrikes >= this.deps.limits.floodCloseAfter) {
      this.shutdown(CLOSE_CODES.RATE_LIMITED, 'rate limit exceeded');
      return;
    }
    const id = peekRequestId(raw.toString('utf8', 0, PEEK_BYTES));
    const error: ErrorBody = { code: 'RATE_LIMITED', message: 'Too many requests; slow down', retryAfterMs };
    this.#send(encodeError(id, error));
  }

  #invalid(id: RequestId | null, error: ErrorBody): void {
    this.#send(encodeError(id, error));
    if (++this.#invalidInARow >= this.deps.limits.invalidCloseAfter) {
      this.shutdown(CLOSE_CODES.PROTOCOL_VIOLATION, 'too many invalid frames');
    }
  }

  #onClose(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#closing = true;
    this.#quota?.release();
    const peer = this.peer;
    if (peer) {
      this.peer = undefined;
      this.deps.rooms.leave(peer, this.#leaveReason);
    }
    this.deps.onClosed(this);
  }
}
