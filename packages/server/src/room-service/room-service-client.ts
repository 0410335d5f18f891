import { Histogram, Counter, type Registry } from 'prom-client';
import { tooDeepAt, tooDeepMessage } from '@heliograph/protocol';
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import type { Clock } from '@heliograph/common';
import { PeerPermissionsPatch } from '../rooms/peer-permissions.js';
import { AppError } from '../shared/app-error.js';
import { SIGNATURE_HEADER, signatureHeaders, TIMESTAMP_HEADER, verifySignature } from '../shared/hmac-signature.js';
import type { Logger } from '../shared/logger.js';
import { DecisionCache } from './decision-cache.js';
import { Semaphore } from './semaphore.js';

/** What the room service is asked about. */
export type RoomServiceAction = 'room.join' | 'room.create';

/** The body POSTed to the room service. */
export interface RoomServiceRequest {
  action: RoomServiceAction;
  user: { id: string; name?: string | undefined };
  room: string;
  /** For `room.join` the metadata the peer asks for; for `room.create` the room's requested metadata. */
  metadata: Record<string, unknown>;
}

/** The room service's answer. */
export const RoomServiceReply = Type.Object({
  allow: Type.Boolean(),
  /** Told to the refused client in the FORBIDDEN message. */
  reason: Type.Optional(Type.String({ maxLength: 256 })),
  /** Merged over the peer's metadata (join) or the room's metadata (create). */
  metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  /** The peer's permissions (join). */
  permissions: Type.Optional(PeerPermissionsPatch),
});
export type RoomServiceReply = Static<typeof RoomServiceReply>;
const checkReply = Compile(RoomServiceReply);

export interface RoomServiceOptions {
  url: string;
  secret: string;
  timeoutMs: number;
  maxConcurrent: number;
  failOpen: boolean;
  cacheTtlMs: number;
  verifyReplies: boolean;
  /** Deepest nesting a reply may have (`limits.maxDepth`): its metadata is stored and relayed. */
  maxDepth: number;
  clock: Clock;
  logger: Logger;
  /** Where the latency histogram is registered. */
  registry: Registry;
}

/** Why a callout produced no answer. */
type Failure = 'timeout' | 'http_error' | 'bad_reply' | 'network' | 'closed';

class CalloutFailed extends Error {
  constructor(
    readonly kind: Failure,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The client of the business room service: one signed POST per decision, with a timeout, a
 * bound on concurrent calls, an optional short cache, and a failure policy (closed by default:
 * no answer means no entry).
 */
export class RoomServiceClient {
  readonly #opts: RoomServiceOptions;
  readonly #slots: Semaphore;
  readonly #cache: DecisionCache<RoomServiceReply>;
  readonly #latency: Histogram<'action' | 'outcome'>;
  readonly #cacheHits: Counter;
  readonly #inflight = new Set<AbortController>();
  #closed = false;

  constructor(options: RoomServiceOptions) {
    this.#opts = options;
    this.#slots = new Semaphore(options.maxConcurrent);
    this.#cache = new DecisionCache(options.cacheTtlMs, 10_000);
    this.#latency = new Histogram({
      name: 'heliograph_room_service_request_duration_seconds',
      help: 'Latency of room service callouts, by action and outcome (allow, deny, timeout, http_error, bad_reply, network)',
      labelNames: ['action', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers: [options.registry],
    });
    this.#cacheHits = new Counter({
      name: 'heliograph_room_service_cache_hits_total',
      help: 'Room service decisions answered from the cache',
      registers: [options.registry],
    });
  }

  /**
   * Asks the room service. Resolves with its answer (which may refuse), or, when it fails, with an
   * allowing answer if `failOpen`, else rejects with UNAVAILABLE.
   */
  async check(request: RoomServiceRequest): Promise<RoomServiceReply> {
    const key = `${request.action}\u0000${request.user.id}\u0000${request.room}`;
    const cached = this.#cache.get(key, this.#opts.clock.now());
    if (cached) {
      this.#cacheHits.inc();
      return cached;
    }
    const started = performance.now();
    try {
      const reply = await this.#call(request);
      this.#latency.observe({ action: request.action, outcome: reply.allow ? 'allow' : 'deny' }, (performance.now() - started) / 1000);
      this.#cache.set(key, reply, this.#opts.clock.now());
      return reply;
    } catch (err) {
      const failure = err instanceof CalloutFailed ? err : new CalloutFailed('network', (err as Error).message);
      this.#latency.observe({ action: request.action, outcome: failure.kind }, (performance.now() - started) / 1000);
      this.#opts.logger.warn({ action: request.action, room: request.room, failure: failure.kind, err: failure.message }, 'room service callout failed');
      if (this.#opts.failOpen && failure.kind !== 'closed') {
        return { allow: true };
      }
      throw new AppError('UNAVAILABLE', `The room service did not answer (${failure.kind})`);
    }
  }

  /** Aborts the calls in flight; later calls fail at once. */
  close(): void {
    this.#closed = true;
    for (const controller of this.#inflight) {
      controller.abort();
    }
    this.#inflight.clear();
  }

  async #call(request: RoomServiceRequest): Promise<RoomServiceReply> {
    const { clock, timeoutMs } = this.#opts;
    if (this.#closed) {
      throw new CalloutFailed('closed', 'the node is shutting down');
    }
    const controller = new AbortController();
    let timedOut = false;
    // The timeout covers the wait for a slot as well as the call itself.
    const timer = clock.setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    this.#inflight.add(controller);
    try {
      await this.#slots.acquire(controller.signal);
      try {
        return await this.#post(request, controller.signal);
      } finally {
        this.#slots.release();
      }
    } catch (err) {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by the timer's callback, which TypeScript's narrowing cannot see
      if (timedOut) {
        throw new CalloutFailed('timeout', `no answer within ${timeoutMs} ms`);
      }
      if (controller.signal.aborted) {
        throw new CalloutFailed('closed', 'aborted');
      }
      throw err;
    } finally {
      clock.clearTimeout(timer);
      this.#inflight.delete(controller);
    }
  }

  async #post(request: RoomServiceRequest, signal: AbortSignal): Promise<RoomServiceReply> {
    const { url, secret, clock, verifyReplies } = this.#opts;
    const body = JSON.stringify(request);
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signatureHeaders(secret, clock.now(), body) },
      body,
      signal,
    });
    const text = await response.text();
    if (!response.ok) {
      throw new CalloutFailed('http_error', `HTTP ${response.status}`);
    }
    if (verifyReplies) {
      const check = verifySignature(
        secret,
        { timestamp: response.headers.get(TIMESTAMP_HEADER), signature: response.headers.get(SIGNATURE_HEADER) },
        text,
        clock.now(),
      );
      if (!check.ok) {
        throw new CalloutFailed('bad_reply', `reply signature: ${check.reason}`);
      }
    }
    let reply: unknown;
    try {
      reply = JSON.parse(text);
    } catch {
      throw new CalloutFailed('bad_reply', 'the reply is not JSON');
    }
    if (tooDeepAt(reply, this.#opts.maxDepth) !== null) {
      throw new CalloutFailed('bad_reply', tooDeepMessage('the reply', this.#opts.maxDepth));
    }
    if (!checkReply.Check(reply)) {
      throw new CalloutFailed('bad_reply', 'the reply does not match {allow, reason?, metadata?, permissions?}');
    }
    return reply;
  }
}
