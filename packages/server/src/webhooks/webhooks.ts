import { Counter, type Registry } from 'prom-client';
import type { Clock, TimerHandle } from '@heliograph/common';
import { signatureHeaders } from '../shared/hmac-signature.js';
import { readGauge } from '../shared/read-gauge.js';
import type { IdGenerator } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { backoffDelay } from './backoff.js';
import { UNNUMBERED, type Outbox, type StoredDeadLetter, type OutboxEvent } from './outbox.js';

/** Every webhook event type. The `streamer.*` ones come from the Pixel Streaming dialect through `publish()`. */
export const WEBHOOK_EVENT_TYPES = [
  'room.started',
  'room.finished',
  'peer.joined',
  'peer.left',
  'peer.updated',
  'streamer.connected',
  'streamer.disconnected',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Headers of every delivery besides the signature pair (`shared/hmac-signature.ts`). */
export const EVENT_ID_HEADER = 'x-heliograph-event-id';
export const EVENT_TYPE_HEADER = 'x-heliograph-event-type';

export interface WebhooksOptions {
  outbox: Outbox;
  url: string;
  secret: string;
  /** Types to record; empty means all. */
  events: readonly string[];
  timeoutMs: number;
  concurrency: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  maxAttempts: number;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  registry: Registry;
  random?: () => number;
  /**
   * In a cluster: the next number of a room's shared sequence (Redis), given to each event of a
   * room when it heads the room's queue. Without it, the node's own counter numbers events.
   */
  roomSeq?: ((room: string) => Promise<number>) | undefined;
}

/**
 * Signed, durable, ordered webhooks. `publish()` writes the event to the SQLite outbox
 * synchronously (so it is on disk before the action that caused it is acknowledged); delivery
 * runs in the background: one event per room at a time, in the room's order, retried with
 * exponential backoff until a 2xx or `maxAttempts`, when it becomes a dead letter and the room's
 * queue moves on. Events left from before a restart are delivered once the node starts.
 */
export class Webhooks {
  readonly #opts: WebhooksOptions;
  readonly #filter: ReadonlySet<string> | undefined;
  /** Rooms with a delivery in flight, and how to abort it. */
  readonly #inflight = new Map<string, AbortController>();
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  #pumpQueued = false;
  #started = false;
  #closed = false;
  readonly #deliveries: Counter<'outcome'>;

  constructor(options: WebhooksOptions) {
    this.#opts = options;
    this.#filter = options.events.length > 0 ? new Set(options.events) : undefined;
    this.#deliveries = new Counter({
      name: 'heliograph_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome (delivered, retry, dead)',
      labelNames: ['outcome'],
      registers: [options.registry],
    });
    const outbox = options.outbox;
    const gauge = (name: string, help: string, read: () => number) => readGauge(options.registry, name, help, read);
    gauge('heliograph_webhook_outbox_pending', 'Webhook events recorded and not yet delivered', () => outbox.pendingCount);
    gauge(
      'heliograph_webhook_dead_letters',
      'Webhook events that ran out of attempts (redeliver or discard them with the control API)',
      () => outbox.deadCount,
    );
  }

  /**
   * Records one event for delivery; returns its id, or undefined when the type is filtered out.
   * `room` orders it (`null` for events that belong to no room). The seam for other modules:
   * the Pixel Streaming dialect publishes `streamer.connected`/`streamer.disconnected` here.
   */
  publish(type: WebhookEventType, room: string | null, data: unknown): string | undefined {
    if (this.#closed || (this.#filter && !this.#filter.has(type))) {
      return undefined;
    }
    const id = this.#opts.ids('EV');
    const shared = this.#opts.roomSeq !== undefined && room !== null;
    this.#opts.outbox.record({ id, type, room: room ?? '', createdAt: this.#opts.clock.now(), data }, shared);
    this.#schedulePump();
    return id;
  }

  /** Starts delivering, including whatever a previous run left in the outbox. */
  start(): void {
    if (!this.#started && !this.#closed) {
      this.#started = true;
      this.#schedulePump();
    }
  }

  /** How many events wait to be delivered, and how many ran out of attempts (the operator console). */
  counts(): { pending: number; dead: number } {
    return { pending: this.#opts.outbox.pendingCount, dead: this.#opts.outbox.deadCount };
  }

  /** Dead letters, oldest first, for the control API. */
  deadLetters(limit: number, cursor?: number): { items: StoredDeadLetter[]; nextCursor?: number } {
    return this.#opts.outbox.deadLetters(limit, cursor);
  }

  /** Puts a dead letter back at the head of its room's queue; false when there is none with this id. */
  redeliver(id: string): boolean {
    const revived = this.#opts.outbox.redeliver(id, this.#opts.clock.now());
    if (revived) {
      this.#schedulePump();
    }
    return revived;
  }

  discard(id: string): boolean {
    return this.#opts.outbox.discard(id);
  }

  /** Stops delivering. Deliveries in flight are aborted and stay pending for the next start. */
  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#opts.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const controller of this.#inflight.values()) {
      controller.abort();
    }
  }

  #schedulePump(): void {
    if (!this.#started || this.#pumpQueued || this.#closed) {
      return;
    }
    this.#pumpQueued = true;
    // A microtask, not a timer: the pump runs right after the current room change, under any clock.
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  /** Sends every due queue head there is a free slot for, then sleeps until the next one is due. */
  #pump(): void {
    if (this.#closed) {
      return;
    }
    const { outbox, clock, concurrency } = this.#opts;
    const now = clock.now();
    if (this.#inflight.size < concurrency) {
      for (const event of outbox.dueHeads(now)) {
        if (this.#inflight.size >= concurrency) {
          break;
        }
        if (!this.#inflight.has(event.room)) {
          this.#deliver(event);
        }
      }
    }
    const next = outbox.nextDueAt();
    if (next !== undefined && next > now) {
      this.#wakeAt(next);
    }
  }

  #wakeAt(at: number): void {
    const { clock } = this.#opts;
    if (this.#timer !== undefined && this.#timerAt <= at) {
      return;
    }
    clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#pump();
    }, at - clock.now());
  }

  #deliver(event: OutboxEvent): void {
    const controller = new AbortController();
    this.#inflight.set(event.room, controller);
    void this.#numbered(event).then(
      (numbered) =>
        this.#post(numbered, controller).then(
          () => this.#settled(numbered, undefined),
          (err: unknown) => this.#settled(numbered, err instanceof Error ? err.message : String(err)),
        ),
      (err: unknown) => this.#unnumbered(event, err),
    );
  }

  /** The event with its number in the room's shared sequence (cluster mode), taken when it heads its queue. */
  async #numbered(event: OutboxEvent): Promise<OutboxEvent> {
    const { roomSeq, outbox } = this.#opts;
    if (event.seq !== UNNUMBERED || !roomSeq) {
      return event;
    }
    const seq = await roomSeq(event.room);
    return this.#closed ? event : outbox.assignSeq(event, seq);
  }

  /** The cluster could not number it (Redis away): try again later, without counting an attempt. */
  #unnumbered(event: OutboxEvent, err: unknown): void {
    this.#inflight.delete(event.room);
    if (this.#closed) {
      return;
    }
    const { outbox, clock, logger, initialBackoffMs, maxBackoffMs, random } = this.#opts;
    const delay = backoffDelay(event.attempts + 1, initialBackoffMs, maxBackoffMs, random);
    outbox.retryLater(event.position, event.attempts, clock.now() + delay, 'the cluster could not number the event');
    logger.warn({ err, event: event.id, room: event.room, retryInMs: delay }, 'webhook event waits for the cluster to number it');
    this.#schedulePump();
  }

  async #post(event: OutboxEvent, controller: AbortController): Promise<void> {
    const { url, secret, clock, timeoutMs } = this.#opts;
    const timer = clock.setTimeout(() => controller.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Heliograph-Webhooks/1',
          [EVENT_ID_HEADER]: event.id,
          [EVENT_TYPE_HEADER]: event.type,
          ...signatureHeaders(secret, clock.now(), event.body),
        },
        body: event.body,
        signal: controller.signal,
      });
      // Read the body so the connection can be reused; its content does not matter.
      await response.arrayBuffer();
      if (!response.ok) {
        throw new Error(`HTTP ${response.status}`);
      }
    } catch (err) {
      const reason: unknown = controller.signal.reason;
      throw controller.signal.aborted && reason instanceof Error ? reason : err;
    } finally {
      clock.clearTimeout(timer);
    }
  }

  #settled(event: OutboxEvent, error: string | undefined): void {
    this.#inflight.delete(event.room);
    if (this.#closed) {
      // Aborted by close(): the event stays pending and is delivered after the next start.
      return;
    }
    const { outbox, clock, logger, maxAttempts, initialBackoffMs, maxBackoffMs, random } = this.#opts;
    if (error === undefined) {
      outbox.delivered(event.position);
      this.#deliveries.inc({ outcome: 'delivered' });
    } else {
      const attempts = event.attempts + 1;
      if (attempts >= maxAttempts) {
        outbox.dead(event.position, attempts, error);
        this.#deliveries.inc({ outcome: 'dead' });
        logger.error({ event: event.id, type: event.type, room: event.room, attempts, error }, 'webhook event is now a dead letter');
      } else {
        const delay = backoffDelay(attempts, initialBackoffMs, maxBackoffMs, random);
        outbox.retryLater(event.position, attempts, clock.now() + delay, error);
        this.#deliveries.inc({ outcome: 'retry' });
        logger.warn({ event: event.id, type: event.type, room: event.room, attempts, retryInMs: delay, error }, 'webhook delivery failed');
      }
    }
    this.#schedulePump();
  }
}
