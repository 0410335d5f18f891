import { PS_CLOSE_CODES, decodePsMessage, type PsDecodeProblem, type PsInbound, type PsOutbound, type PsRole } from '@heliograph/protocol';
import type { WebSocket } from 'ws';
import type { Clock } from '@heliograph/common';
import type { ErrorReporter } from '../shared/error-reporter.js';
import type { Logger } from '../shared/logger.js';
import type { RequestQuota } from '../transport/request-limits.js';
import { TokenBucket } from '../transport/token-bucket.js';

/** Counters of frames the dialect did not hand on, for the REST view and tests. */
export interface PsDropCounters {
  parse: number;
  unknown_type: number;
  invalid: number;
  rate_limited: number;
  /** Well-formed messages with no valid recipient (not subscribed, unknown `playerId`…). */
  unroutable: number;
}

export function newDropCounters(): PsDropCounters {
  return { parse: 0, unknown_type: 0, invalid: 0, rate_limited: 0, unroutable: 0 };
}

/** Told of each message a dialect socket reads (`in`, once decoded) or writes (`out`): the inspector. */
export type PsWatcher = (direction: 'in' | 'out', type: string, message: unknown, bytes: number) => void;

export interface PsSocketOptions {
  role: PsRole;
  clock: Clock;
  logger: Logger;
  drops: PsDropCounters;
  /** `close`: bad input closes the socket with 1008, as Cirrus did; `ignore`: Wilbur's behaviour. */
  badMessages: 'ignore' | 'close';
  maxBufferedBytes: number;
  messagesPerSecond: number;
  messageBurst: number;
  /** Deepest nesting a message may have (`limits.maxDepth`). */
  maxDepth: number;
  errors: ErrorReporter;
  /** The shared rates of its user and address on this node (`PsRequestLimits`); released on close. */
  quota?: RequestQuota | undefined;
}

/** The largest close reason a close frame can carry, in UTF-8 bytes. */
const MAX_REASON_BYTES = 123;

/**
 * One dialect WebSocket: decodes and validates inbound frames (text or binary) once, applies the
 * bad-input policy and rate limit, and sends JSON. Never throws into the caller.
 */
export class PsSocket {
  /** Set by any inbound frame or WebSocket pong; the keepalive clears it. */
  alive = true;
  #closed = false;
  #handler: (message: PsInbound) => void = () => {};
  /** Set by the signalling once it knows whose socket this is; one property check per message. */
  watcher: PsWatcher | undefined;
  readonly #bucket: TokenBucket;

  constructor(
    readonly ws: WebSocket,
    readonly remoteAddress: string,
    private readonly opts: PsSocketOptions,
  ) {
    this.#bucket = new TokenBucket(opts.messagesPerSecond, opts.messageBurst, opts.clock.now());
    ws.on('message', (data: Buffer) => this.#onFrame(data));
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('error', (err) => opts.logger.debug({ err, role: opts.role }, 'pixel streaming socket error'));
    ws.on('close', () => {
      this.#closed = true;
      opts.quota?.release();
    });
  }

  get closed(): boolean {
    return this.#closed || this.ws.readyState !== this.ws.OPEN;
  }

  /** Where decoded messages go. */
  onMessage(handler: (message: PsInbound) => void): void {
    this.#handler = handler;
  }

  /** Runs once when the socket has closed, however that happened. */
  onClose(handler: () => void): void {
    this.ws.once('close', handler);
  }

  /** Sends one message; a peer that does not read is dropped with 4508 rather than buffered for. */
  send(message: PsOutbound | Record<string, unknown>): void {
    if (this.closed) {
      return;
    }
    if (this.ws.bufferedAmount > this.opts.maxBufferedBytes) {
      this.close(PS_CLOSE_CODES.SLOW_CONSUMER, 'too much data buffered');
      return;
    }
    const json = JSON.stringify(message);
    this.watcher?.('out', String(message.type), message, Buffer.byteLength(json));
    this.ws.send(json);
  }

  /** Closes the socket; with no code the peer sees 1005, as Wilbur's closes do. Idempotent. */
  close(code?: number, reason = ''): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    try {
      if (code === undefined) {
        this.ws.close();
      } else {
        this.ws.close(code, truncateUtf8(reason, MAX_REASON_BYTES));
      }
    } catch (err) {
      this.opts.logger.debug({ err }, 'close failed; terminating');
      this.ws.terminate();
    }
  }

  /** Drops the connection without a close handshake (a dead peer would never complete one). */
  terminate(): void {
    this.#closed = true;
    this.ws.terminate();
  }

  #onFrame(data: Buffer): void {
    if (this.#closed) {
      return;
    }
    this.alive = true;
    const { drops, errors, role } = this.opts;
    // Its own bucket first: a socket over its own rate takes nothing from the shared ones.
    const now = this.opts.clock.now();
    if (!this.#bucket.take(now) || (this.opts.quota && !this.opts.quota.take(now))) {
      drops.rate_limited++;
      return;
    }
    // Binary frames carry UTF-8 JSON too: every Epic peer accepts both.
    const result = decodePsMessage(role, data.toString('utf8'), this.opts.maxDepth);
    if (!result.ok) {
      this.#reject(result.problem, result.detail);
      return;
    }
    try {
      this.watcher?.('in', result.message.type, result.message, data.length);
      this.#handler(result.message);
    } catch (err) {
      errors.report('pixel-streaming', err, { role, type: result.message.type });
    }
  }

  #reject(problem: PsDecodeProblem, detail: string): void {
    this.opts.drops[problem]++;
    this.opts.logger.debug({ role: this.opts.role, problem, detail }, 'pixel streaming message dropped');
    if (this.opts.badMessages === 'close') {
      this.close(PS_CLOSE_CODES.POLICY_VIOLATION, detail);
    }
  }
}

/**
 * The longest prefix of `text` within `maxBytes` of UTF-8, cut between code points. A reason can
 * be a peer's own text (a streamer's `disconnectPlayer` reason, up to 1,024 characters): cut one
 * UTF-16 unit at a time, it could keep half of a surrogate pair, which goes out as U+FFFD.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) {
    return text;
  }
  // Each UTF-16 unit is at least one byte, so the prefix needs at most `maxBytes` of them; a
  // surrogate pair split at that end encodes as a 3-byte U+FFFD, which the cut below drops.
  const bytes = Buffer.from(text.slice(0, maxBytes), 'utf8');
  let end = maxBytes;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) {
    end--; // back to the first byte of the code point the cut would split
  }
  return bytes.subarray(0, end).toString('utf8');
}
