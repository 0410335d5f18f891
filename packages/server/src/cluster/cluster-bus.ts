import { AppError } from '../shared/app-error.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import {
  DEFAULT_BUS_TIMING,
  type Bus,
  type BusTiming,
  type ClusterMessage,
  type MessageHandler,
  type NodeId,
  type PublishOptions,
  type RequestHandler,
} from './bus.js';
import { decodeFrames, type Frame } from './frames.js';
import { PendingRequests } from './pending-requests.js';
import type { BusTransport } from './transport.js';

/** What a `ClusterBus` is built from. */
export interface ClusterBusOptions {
  nodeId: NodeId;
  transport: BusTransport;
  clock: Clock;
  logger: Logger;
  timing?: Partial<BusTiming> | undefined;
  /** Prefix of every channel name, so that several clusters can share one Redis. */
  prefix?: string | undefined;
}

/**
 * The bus protocol over any `BusTransport`: sender stamps (a node drops its own messages),
 * request ids and timeouts, heartbeats and node loss, resubscription after a reconnect.
 */
export class ClusterBus<M extends ClusterMessage = ClusterMessage> implements Bus<M> {
  readonly nodeId: NodeId;
  readonly #t: BusTransport;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #timing: BusTiming;
  readonly #prefix: string;
  readonly #pending: PendingRequests;
  readonly #handlers = new Map<string, Set<MessageHandler<M>>>();
  #requestHandler: RequestHandler<M> | undefined;
  readonly #lostHandlers: Array<(nodeId: NodeId) => void> = [];
  readonly #connHandlers: Array<(connected: boolean) => void> = [];
  /** The nodes alive at the last heartbeat. */
  #known = new Set<NodeId>();
  #beaten = false;
  #beating = false;
  /** Until then, nodes missing from the registry are not reported lost (it may have lost its data). */
  #graceUntil = 0;
  /** The last heartbeat failed: the registry stalled or was away, so the next result is not judged at once. */
  #lastBeatFailed = false;
  #timer: TimerHandle | undefined;
  #started = false;
  /** Frames waiting for the end of this tick, in the order they were sent (see #send). */
  #outgoing: Outgoing[] = [];
  /** False from a transport loss until the subscriptions are back. */
  #restored = false;
  #closed = false;

  constructor(options: ClusterBusOptions) {
    this.nodeId = options.nodeId;
    this.#t = options.transport;
    this.#clock = options.clock;
    this.#log = options.logger;
    this.#timing = { ...DEFAULT_BUS_TIMING, ...options.timing };
    this.#prefix = options.prefix ?? 'hg';
    this.#pending = new PendingRequests(options.clock);
    this.#t.onFrame((channel, raw) => this.#onFrame(channel, raw));
    this.#t.onConnectionChange((up) => this.#onConnectionChange(up));
  }

  get connected(): boolean {
    return !this.#closed && this.#restored && this.#t.connected;
  }

  async start(): Promise<void> {
    if (this.#started) {
      return;
    }
    this.#started = true;
    try {
      await this.#t.connect();
      await this.#t.subscribe(this.#inbox(this.nodeId));
    } catch (err) {
      await this.close(); // a bus that could not start is closed; make a new one to retry
      throw toAppError(err);
    }
    this.#restored = true;
    this.#timer = this.#clock.setInterval(() => void this.#beat(), this.#timing.heartbeatIntervalMs);
    await this.#beat();
  }

  async publish(channel: string, message: M, options?: PublishOptions): Promise<void> {
    this.#assertOpen();
    const frame = options?.echo ? { k: 'pub', from: this.nodeId, m: message, e: 1 } : { k: 'pub', from: this.nodeId, m: message };
    await new Promise<number>((resolve, reject) => this.#send(this.#channel(channel), JSON.stringify(frame), resolve, reject));
  }

  async subscribe(channel: string, handler: MessageHandler<M>): Promise<() => Promise<void>> {
    this.#assertOpen();
    let set = this.#handlers.get(channel);
    if (!set) {
      await this.#t.subscribe(this.#channel(channel));
      // Another subscribe() may have created the set while this one awaited.
      set = this.#handlers.get(channel) ?? new Set();
      this.#handlers.set(channel, set);
    }
    set.add(handler);
    return async () => {
      const current = this.#handlers.get(channel);
      if (!current?.delete(handler) || current.size > 0) {
        return;
      }
      this.#handlers.delete(channel);
      if (this.connected) {
        await this.#t.unsubscribe(this.#channel(channel)).catch(() => undefined);
      }
    };
  }

  async request(to: NodeId, message: M, timeoutMs = this.#timing.requestTimeoutMs): Promise<unknown> {
    this.#assertOpen();
    if (to === this.nodeId) {
      return this.#requestSelf(message, timeoutMs);
    }
    if (!this.connected) {
      throw new AppError('UNAVAILABLE', 'The cluster bus is disconnected');
    }
    const { id, reply } = this.#pending.open(to, timeoutMs);
    const frame = JSON.stringify({ k: 'req', from: this.nodeId, id, m: message });
    this.#send(
      this.#inbox(to),
      frame,
      (receivers) => {
        if (receivers === 0) {
          this.#pending.fail(id, new AppError('UNAVAILABLE', `Node ${to} is not listening`));
        }
      },
      (err: unknown) => this.#pending.fail(id, toAppError(err)),
    );
    return reply;
  }

  onRequest(handler: RequestHandler<M>): void {
    this.#requestHandler = handler;
  }

  nodes(): NodeId[] {
    return [...this.#known];
  }

  onNodeLost(handler: (nodeId: NodeId) => void): void {
    this.#lostHandlers.push(handler);
  }

  onConnectionChange(handler: (connected: boolean) => void): void {
    this.#connHandlers.push(handler);
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#clock.clearInterval(this.#timer);
    this.#pending.failAll(new AppError('UNAVAILABLE', 'The cluster bus is closing'));
    if (this.#started && this.#t.connected) {
      await this.#t.leave(this.nodeId).catch((err: unknown) => this.#log.warn({ err }, 'cluster: leave failed'));
    }
    await this.#t.close();
  }

  #channel(name: string): string {
    return `${this.#prefix}:c:${name}`;
  }

  #inbox(nodeId: NodeId): string {
    return `${this.#prefix}:n:${nodeId}`;
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new AppError('UNAVAILABLE', 'The cluster bus is closed');
    }
  }

  /**
   * Sends a frame at the end of this tick. Frames sent in one tick (many relays read from one
   * socket read) go out together: consecutive frames to one channel as one publication (a JSON
   * array), channels in the order they were first sent to, so that order across channels holds
   * too. One PUBLISH per batch instead of per frame is what keeps a cross-node relay cheap.
   */
  #send(channel: string, frame: string, sent: (receivers: number) => void, failed: (err: unknown) => void): void {
    if (this.#outgoing.length === 0) {
      queueMicrotask(() => this.#flush());
    }
    this.#outgoing.push({ channel, frame, sent, failed });
  }

  #flush(): void {
    const queue = this.#outgoing;
    this.#outgoing = [];
    for (let i = 0; i < queue.length; ) {
      const channel = queue[i]!.channel;
      let end = i + 1;
      while (end < queue.length && queue[end]!.channel === channel) {
        end++;
      }
      const batch = queue.slice(i, end);
      const payload = batch.length === 1 ? batch[0]!.frame : `[${batch.map((o) => o.frame).join(',')}]`;
      this.#t.publish(channel, payload).then(
        (receivers) => batch.forEach((o) => o.sent(receivers)),
        (err: unknown) => batch.forEach((o) => o.failed(err)),
      );
      i = end;
    }
  }

  #onFrame(channel: string, raw: string): void {
    const { frames, dropped } = decodeFrames<M>(raw);
    if (dropped > 0) {
      this.#log.warn({ channel, dropped }, 'cluster: dropped a malformed frame');
    }
    for (const frame of frames) {
      this.#onOneFrame(channel, frame);
    }
  }

  #onOneFrame(channel: string, frame: Frame<M>): void {
    if (frame.from === this.nodeId && !(frame.k === 'pub' && frame.e === 1)) {
      return; // every node hears its own publications; ignore them unless asked to hear them
    }
    if (frame.k === 'pub') {
      this.#deliver(channel, frame.m, frame.from);
    } else if (frame.k === 'req') {
      void this.#answer(frame.id, frame.m, frame.from);
    } else if (frame.ok) {
      this.#pending.resolve(frame.id, frame.body);
    } else {
      this.#pending.fail(frame.id, new AppError(frame.error.code, frame.error.message));
    }
  }

  #deliver(channel: string, message: M, from: NodeId): void {
    const name = channel.slice(this.#prefix.length + 3);
    for (const handler of this.#handlers.get(name) ?? []) {
      try {
        handler(message, from);
      } catch (err) {
        this.#log.error({ err, channel: name }, 'cluster: a message handler threw');
      }
    }
  }

  async #answer(id: string, message: M, from: NodeId): Promise<void> {
    const reply = await this.#handle(id, message, from);
    this.#send(this.#inbox(from), JSON.stringify(reply), () => undefined, (err: unknown) => {
      // The requester times out or fails on its own bus loss; nothing else to do here.
      this.#log.warn({ err, to: from }, 'cluster: could not send a reply');
    });
  }

  /** Runs the request handler; its result or error as a reply frame. */
  async #handle(id: string, message: M, from: NodeId): Promise<Frame<M>> {
    try {
      if (!this.#requestHandler) {
        throw new AppError('UNAVAILABLE', `Node ${this.nodeId} takes no requests`);
      }
      const body: unknown = await this.#requestHandler(message, from);
      return { k: 'res', from: this.nodeId, id, ok: true, body: body ?? null };
    } catch (err) {
      const e = err instanceof AppError ? err : new AppError('INTERNAL');
      if (!(err instanceof AppError)) {
        this.#log.error({ err, type: message.type }, 'cluster: a request handler threw');
      }
      return { k: 'res', from: this.nodeId, id, ok: false, error: { code: e.code, message: e.message } };
    }
  }

  /** A request to this very node: no transport (our own frames are dropped), same semantics. */
  #requestSelf(message: M, timeoutMs: number): Promise<unknown> {
    const { id, reply } = this.#pending.open(this.nodeId, timeoutMs);
    const copy = JSON.parse(JSON.stringify(message)) as M;
    void this.#handle(id, copy, this.nodeId).then((frame) => {
      if (frame.k !== 'res') {
        return;
      }
      if (frame.ok) {
        this.#pending.resolve(id, JSON.parse(JSON.stringify(frame.body)));
      } else {
        this.#pending.fail(id, new AppError(frame.error.code, frame.error.message));
      }
    });
    return reply;
  }

  #onConnectionChange(up: boolean): void {
    if (this.#closed || !this.#timer) {
      return; // start() has not finished: it subscribes by itself
    }
    if (up) {
      void this.#restore();
      return;
    }
    const was = this.#restored;
    this.#restored = false;
    // Replies published while we are away are lost: fail now instead of at the timeout.
    this.#pending.failAll(new AppError('UNAVAILABLE', 'The cluster bus lost its connection'));
    if (was) {
      this.#emitConnection(false);
    }
  }

  /** After a reconnect: the inbox and every channel with handlers, a heartbeat, then `connected`. */
  async #restore(): Promise<void> {
    try {
      for (const channel of [this.#inbox(this.nodeId), ...[...this.#handlers.keys()].map((c) => this.#channel(c))]) {
        await this.#t.subscribe(channel);
      }
    } catch (err) {
      // The transport went down again; the next 'up' retries.
      this.#log.warn({ err }, 'cluster: could not restore subscriptions');
      return;
    }
    if (this.#closed || this.#restored || !this.#t.connected) {
      return;
    }
    this.#restored = true;
    // The registry may have lost every node: give them one TTL to beat again before judging.
    this.#graceUntil = this.#clock.now() + this.#timing.heartbeatTtlMs;
    this.#emitConnection(true);
    await this.#beat();
  }

  #emitConnection(up: boolean): void {
    for (const h of this.#connHandlers) {
      try {
        h(up);
      } catch (err) {
        this.#log.error({ err }, 'cluster: a connection handler threw');
      }
    }
  }

  async #beat(): Promise<void> {
    if (this.#beating || this.#closed) {
      return;
    }
    this.#beating = true;
    try {
      const { wasPresent, members } = await this.#t.heartbeat(this.nodeId, this.#timing.heartbeatTtlMs);
      if (this.#closed) {
        return;
      }
      const evicted = this.#beaten && !wasPresent;
      this.#beaten = true;
      if (this.#lastBeatFailed) {
        // After a stall every node's expiry passed at once, not because they died: one TTL of grace.
        this.#lastBeatFailed = false;
        this.#graceUntil = Math.max(this.#graceUntil, this.#clock.now() + this.#timing.heartbeatTtlMs);
      }
      this.#updateMembers(members);
      if (evicted) {
        this.#log.warn({ nodeId: this.nodeId }, 'cluster: this node had been dropped from the registry');
        this.#emitLost(this.nodeId);
      }
    } catch (err) {
      // Unreachable registry: nobody can be judged lost; heartbeats resume when it returns.
      this.#lastBeatFailed = true;
      this.#log.debug({ err }, 'cluster: heartbeat failed');
    } finally {
      this.#beating = false;
    }
  }

  #updateMembers(members: NodeId[]): void {
    const now = new Set(members);
    if (this.#clock.now() < this.#graceUntil) {
      for (const id of now) {
        this.#known.add(id);
      }
      return;
    }
    const lost = [...this.#known].filter((id) => !now.has(id) && id !== this.nodeId);
    this.#known = now;
    for (const id of lost) {
      this.#pending.failNode(id, new AppError('UNAVAILABLE', `Node ${id} was lost`));
      this.#emitLost(id);
    }
  }

  #emitLost(nodeId: NodeId): void {
    for (const h of this.#lostHandlers) {
      try {
        h(nodeId);
      } catch (err) {
        this.#log.error({ err }, 'cluster: a node-lost handler threw');
      }
    }
  }
}

/** A frame waiting in `ClusterBus.#send`'s queue, with what to do once its batch is published. */
interface Outgoing {
  channel: string;
  frame: string;
  sent: (receivers: number) => void;
  failed: (err: unknown) => void;
}

/** Any transport failure as an AppError: UNAVAILABLE unless it already is one. */
export function toAppError(err: unknown): AppError {
  return err instanceof AppError ? err : new AppError('UNAVAILABLE', 'The cluster bus is unavailable');
}
