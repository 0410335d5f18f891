import type { Clock, TimerHandle } from '@heliograph/common';
import type { Bus } from '../cluster/bus.js';
import type { NodeMessage } from '../cluster/messages.js';
import { AppError } from '../shared/app-error.js';
import type { IdGenerator } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { TokenBucket } from '../transport/token-bucket.js';
import { eventRecord, psRecord, recipientOf, recordsFor, type Answered, type InspectRecord, type InspectTarget } from './records.js';
import type { Session } from '../handlers/handler.js';
import type { Peer } from '../rooms/room.js';
import type { EventType } from '@heliograph/protocol';

/** The bounds of capture on one node. */
export const INSPECTOR_LIMITS = {
  /** Captures at once on a node, local watchers and other nodes' together. */
  maxCaptures: 8,
  /** Records a capture may emit per second (and in a burst); the rest are dropped and counted. */
  recordsPerSecond: 200,
  burst: 400,
  /** A capture for another node ends this long after that node last renewed it. */
  remoteTtlMs: 30_000,
} as const;

const CHANNEL = 'inspector';
const recordsChannel = (capture: string): string => `inspect:${capture}`;

interface Capture {
  target: InspectTarget;
  emit: (record: InspectRecord) => void;
  bucket: TokenBucket;
  dropped: number;
  /** For another node's capture: when it lapses unless renewed. */
  expiresAt?: number;
}

export interface InspectorOptions {
  nodeId: string;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  /** In a cluster: captures reach every node, and their records come back to the watcher. */
  bus?: Bus<NodeMessage> | undefined;
}

/** A watcher's capture; `close()` ends it on every node. */
export interface Watch {
  readonly id: string;
  close(): Promise<void>;
}

/**
 * The live signalling inspector of one node: captures, off until an operator watches a room or a
 * peer, fed by the dispatcher's tap. Bounded per node in number and in records per second.
 */
export class Inspector {
  readonly #opts: InspectorOptions;
  readonly #captures = new Map<string, Capture>();
  #sweep: TimerHandle | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;

  constructor(options: InspectorOptions) {
    this.#opts = options;
  }

  /** Whether anything is captured: the tap's one check on the hot path. */
  get active(): boolean {
    return this.#captures.size > 0;
  }

  /** How many captures this node runs now. */
  get captures(): number {
    return this.#captures.size;
  }

  /** In a cluster: hears other nodes' captures. */
  async start(): Promise<void> {
    const { bus, clock } = this.#opts;
    if (!bus) {
      return;
    }
    this.#unsubscribe = await bus.subscribe(CHANNEL, (message, from) => this.#onControl(message, from));
    this.#sweep = clock.setInterval(() => this.#expire(), 5_000);
  }

  /** Records of one answered request for every capture that wants them. */
  observe(answered: Answered): void {
    const { request, session } = answered;
    const sender = session.peer;
    const to = recipientOf(request);
    for (const capture of this.#captures.values()) {
      const { target } = capture;
      const wantsSender = 'room' in target ? sender?.room.id === target.room : sender?.id === target.peer;
      const wantsRecipient = 'room' in target ? wantsSender : to === target.peer;
      if (wantsSender || wantsRecipient) {
        for (const record of recordsFor(answered, this.#opts.nodeId, wantsSender, wantsRecipient)) {
          this.#emit(capture, record);
        }
      }
    }
  }

  /**
   * A server event sent to a session (`peer.joined`, `room.closed`, `session.ready`…): a record
   * for every capture of its room or peer. Relayed signals and data come through `observe`.
   */
  observeEvent(session: Session, type: EventType, dataJson: string): void {
    const peer = session.peer;
    if (peer) {
      this.#forPeer(peer, () => eventRecord(session, type, dataJson, this.#opts.nodeId, this.#opts.clock.now()));
    }
  }

  /** A Pixel Streaming message of `peer`'s socket: a record for every capture of its presence room or of it. */
  observePs(peer: Peer | undefined, direction: 'in' | 'out', type: string, message: unknown, bytes: number): void {
    if (peer) {
      this.#forPeer(peer, () => psRecord(peer, direction, type, message, bytes, this.#opts.nodeId, this.#opts.clock.now()));
    }
  }

  /** A record about `peer` for every capture of its room or of it, made once and only if one wants it. */
  #forPeer(peer: Peer, make: () => InspectRecord): void {
    let record: InspectRecord | undefined;
    for (const capture of this.#captures.values()) {
      const { target } = capture;
      if ('room' in target ? peer.room.id === target.room : peer.id === target.peer) {
        record ??= make();
        this.#emit(capture, { ...record });
      }
    }
  }

  /** Starts capturing `target` on every node; `onRecord` gets what they capture until `close()`. */
  async watch(target: InspectTarget, onRecord: (record: InspectRecord) => void): Promise<Watch> {
    const { bus, clock, ids } = this.#opts;
    this.#admit();
    const id = ids('IN');
    this.#captures.set(id, this.#capture(target, onRecord));
    if (!bus) {
      return { id, close: async () => void this.#captures.delete(id) };
    }
    let unsubscribe: (() => Promise<void>) | undefined;
    let renew: TimerHandle | undefined;
    const start = { type: 'inspect.start', capture: id, target, ttlMs: INSPECTOR_LIMITS.remoteTtlMs } as const;
    try {
      unsubscribe = await bus.subscribe(recordsChannel(id), (message) => {
        if (message.type === 'inspect.records') {
          message.records.forEach(onRecord);
        }
      });
      await bus.publish(CHANNEL, start);
      renew = clock.setInterval(() => void bus.publish(CHANNEL, start).catch(() => undefined), INSPECTOR_LIMITS.remoteTtlMs / 3);
    } catch (err) {
      this.#captures.delete(id);
      await unsubscribe?.().catch(() => undefined);
      throw err;
    }
    let closed = false;
    return {
      id,
      close: async () => {
        if (closed) {
          return;
        }
        closed = true;
        this.#captures.delete(id);
        clock.clearInterval(renew);
        await bus.publish(CHANNEL, { type: 'inspect.stop', capture: id }).catch(() => undefined);
        await unsubscribe().catch(() => undefined);
      },
    };
  }

  /** Idempotent: ends every capture on this node. */
  async close(): Promise<void> {
    this.#captures.clear();
    this.#opts.clock.clearInterval(this.#sweep);
    this.#sweep = undefined;
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = undefined;
    await unsubscribe?.().catch(() => undefined);
  }

  #admit(): void {
    if (this.#captures.size >= INSPECTOR_LIMITS.maxCaptures) {
      throw new AppError('UNAVAILABLE', `This node already runs ${INSPECTOR_LIMITS.maxCaptures} inspector captures; close one first`);
    }
  }

  #capture(target: InspectTarget, emit: (record: InspectRecord) => void): Capture {
    const bucket = new TokenBucket(INSPECTOR_LIMITS.recordsPerSecond, INSPECTOR_LIMITS.burst, this.#opts.clock.now());
    return { target, emit, bucket, dropped: 0 };
  }

  #emit(capture: Capture, record: InspectRecord): void {
    if (!capture.bucket.take(this.#opts.clock.now())) {
      capture.dropped++;
      return;
    }
    if (capture.dropped > 0) {
      record.dropped = capture.dropped;
      capture.dropped = 0;
    }
    capture.emit(record);
  }

  /** Another node's `inspect.start` (new or renewed) or `inspect.stop`. */
  #onControl(message: NodeMessage, from: string): void {
    const { clock, bus, logger } = this.#opts;
    if (message.type === 'inspect.stop') {
      this.#captures.delete(message.capture);
      return;
    }
    if (message.type !== 'inspect.start' || !bus) {
      return;
    }
    const expiresAt = clock.now() + message.ttlMs;
    const existing = this.#captures.get(message.capture);
    if (existing) {
      existing.expiresAt = expiresAt;
      return;
    }
    if (this.#captures.size >= INSPECTOR_LIMITS.maxCaptures) {
      logger.warn({ capture: message.capture, node: from }, 'inspector capture refused: this node runs the most it may');
      return;
    }
    const channel = recordsChannel(message.capture);
    const capture = this.#capture(message.target, (record) => {
      bus.publish(channel, { type: 'inspect.records', records: [record] }).catch(() => capture.dropped++);
    });
    capture.expiresAt = expiresAt;
    this.#captures.set(message.capture, capture);
  }

  #expire(): void {
    const now = this.#opts.clock.now();
    for (const [id, capture] of this.#captures) {
      if (capture.expiresAt !== undefined && capture.expiresAt <= now) {
        this.#captures.delete(id);
      }
    }
  }
}
