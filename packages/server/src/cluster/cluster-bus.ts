import { EventHub, type Clock, type TimerHandle } from '@heliograph/common';
import { AppError } from '../shared/app-error.js';
import type { Logger } from '../shared/logger.js';
import { StartupError } from '../shared/startup-error.js';
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
import { decodeFrames, type WireFrame } from './frames.js';
import { LinkRouter } from './node-links/link-router.js';
import type { OutgoingMessage } from './node-links/link-frames.js';
import type { NodeLinks } from './node-links/node-links.js';
import { Membership } from './membership.js';
import { Outbox } from './outbox.js';
import { Responder } from './responder.js';
import { PendingRequests } from './pending-requests.js';
import type { BusTransport } from './transport.js';

export interface ClusterBusOptions<M extends ClusterMessage = ClusterMessage> {
  nodeId: NodeId;
  transport: BusTransport;
  clock: Clock;
  logger: Logger;
  timing?: Partial<BusTiming> | undefined;
  /** Prefix of every channel name, so that several clusters can share one Redis. */
  prefix?: string | undefined;
  /**
   * Checks each message heard from another node before any handler sees it (the node passes
   * the compiled schemas of `message-schemas.ts`); by default only that it has a `type`.
   */
  isMessage?: ((value: unknown) => value is M) | undefined;
  /** Direct links to the other nodes for requests and their answers (`node-links/`); without them, Redis inboxes. */
  links?: NodeLinks | undefined;
}

/** What a bus factory takes from its caller and hands on to its `ClusterBus` as it came. */
export type BusNodeOptions<M extends ClusterMessage = ClusterMessage> = Pick<ClusterBusOptions<M>, 'nodeId' | 'logger' | 'timing' | 'isMessage' | 'links'>;

const hasType = (v: unknown): v is ClusterMessage => typeof v === 'object' && v !== null && 'type' in v && typeof v.type === 'string';

/**
 * The `Bus` over any `BusTransport`: sender stamps (a node drops its own messages), request ids
 * and timeouts, heartbeats and node loss, resubscription after a reconnect.
 */
export class ClusterBus<M extends ClusterMessage = ClusterMessage> implements Bus<M> {
  readonly nodeId: NodeId;
  readonly #t: BusTransport;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #timing: BusTiming;
  readonly #prefix: string;
  readonly #pending: PendingRequests;
  /** The handlers of each subscribed channel, by name. */
  readonly #channels: EventHub<Record<string, [M, NodeId]>>;
  readonly #responder: Responder<M>;
  readonly #events: EventHub<{ lost: [NodeId]; connection: [boolean] }>;
  readonly #members: Membership;
  #beating = false;
  #timer: TimerHandle | undefined;
  #started = false;
  readonly #outbox: Outbox;
  readonly #isMessage: (value: unknown) => value is M;
  readonly #links: NodeLinks | undefined;
  readonly #router: LinkRouter | undefined;
  /**
   * The sequence number of this node's last request, to any node: increasing for every pair, so
   * a receiver can tell a request that was overtaken (see `Responder`). Never reset: a node that
   * thought another lost, while that one still remembers its numbers, must not start again at 1.
   */
  #seq = 0;
  /** Publications handed to the transport and not yet acknowledged (see `LinkRouter`). */
  #publishing = 0;
  /** False from a transport loss until the subscriptions are back. */
  #restored = false;
  #closed = false;

  constructor(options: ClusterBusOptions<M>) {
    this.nodeId = options.nodeId;
    this.#t = options.transport;
    this.#clock = options.clock;
    this.#log = options.logger;
    this.#timing = { ...DEFAULT_BUS_TIMING, ...options.timing };
    this.#prefix = options.prefix ?? 'hg';
    this.#channels = new EventHub((err, channel) => this.#log.error({ err, channel }, 'cluster: a message handler threw'));
    this.#events = new EventHub((err, event) => this.#log.error({ err }, `cluster: a ${event === 'lost' ? 'node-lost' : 'connection'} handler threw`));
    this.#pending = new PendingRequests(options.clock);
    this.#members = new Membership(options.clock, this.#timing.heartbeatTtlMs, options.nodeId);
    this.#outbox = new Outbox((channel, payload) => this.#t.publish(channel, payload));
    // Without a schema, M can only be ClusterMessage itself (the generic bus of the contract tests).
    this.#isMessage = options.isMessage ?? (hasType as (value: unknown) => value is M);
    this.#responder = new Responder(options.nodeId, this.#isMessage, options.logger);
    this.#links = options.links;
    this.#router = options.links
      ? new LinkRouter(
          options.links,
          {
            pending: this.#pending,
            publishing: () => this.#publishing,
            sendInbox: (to, id, seq, message) => this.#sendInbox(to, id, seq, message),
            answer: (from, seq, message, reply) => this.#responder.answer(from, seq, message, reply),
          },
          options.logger,
        )
      : undefined;
    this.#t.onFrame = (channel, raw) => this.#onFrame(channel, raw);
    this.#t.onConnectionChange = (up) => this.#onConnectionChange(up);
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
      await this.#links?.listen();
      await this.#t.connect();
      await this.#t.subscribe(this.#inbox(this.nodeId));
    } catch (err) {
      await this.close(); // a bus that could not start is closed; make a new one to retry
      throw err instanceof StartupError ? err : toAppError(err);
    }
    this.#restored = true;
    this.#timer = this.#clock.setInterval(() => void this.#beat(), this.#timing.heartbeatIntervalMs);
    await this.#beat();
  }

  async publish(channel: string, message: M, options?: PublishOptions): Promise<void> {
    this.#assertOpen();
    const frame = { k: 'pub', from: this.nodeId, m: message, e: options?.echo ? 1 : undefined };
    this.#publishing++;
    await this.#outbox.send(this.#channel(channel), JSON.stringify(frame)).finally(() => {
      if (--this.#publishing === 0) {
        this.#router?.published();
      }
    });
  }

  async subscribe(channel: string, handler: MessageHandler<M>): Promise<() => Promise<void>> {
    this.#assertOpen();
    if (this.#channels.listenerCount(channel) === 0) {
      await this.#t.subscribe(this.#channel(channel));
    }
    this.#channels.on(channel, handler);
    return async () => {
      const before = this.#channels.listenerCount(channel);
      this.#channels.off(channel, handler);
      const left = this.#channels.listenerCount(channel);
      if (left === before || left > 0) {
        return; // unsubscribed already, or other handlers still listen
      }
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
    const seq = ++this.#seq;
    const route = this.#router?.route(to) ?? 'inbox';
    const { id, reply } = this.#pending.open(to, timeoutMs, route);
    if (route === 'inbox') {
      this.#sendInbox(to, id, seq, message);
    } else {
      this.#router!.send(to, id, seq, message);
    }
    return reply;
  }

  #sendInbox(to: NodeId, id: string, seq: number, message: OutgoingMessage): void {
    const frame = JSON.stringify({ k: 'req', from: this.nodeId, id, s: seq, m: message });
    this.#outbox.send(this.#inbox(to), frame).then(
      (receivers) => {
        if (receivers === 0) {
          this.#pending.fail(id, new AppError('UNAVAILABLE', `Node ${to} is not listening`));
        }
      },
      (err: unknown) => this.#pending.fail(id, toAppError(err)),
    );
  }

  onRequest(handler: RequestHandler<M>): void {
    this.#responder.handler = handler;
  }

  nodes(): NodeId[] {
    return this.#members.nodes();
  }

  onNodeLost(handler: (nodeId: NodeId) => void): void {
    this.#events.on('lost', handler);
  }

  onConnectionChange(handler: (connected: boolean) => void): void {
    this.#events.on('connection', handler);
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#clock.clearInterval(this.#timer);
    this.#pending.failAll(new AppError('UNAVAILABLE', 'The cluster bus is closing'));
    await this.#links?.close();
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

  #onFrame(channel: string, raw: string): void {
    const { frames, dropped } = decodeFrames(raw);
    if (dropped > 0) {
      this.#log.warn({ channel, dropped }, 'cluster: dropped a malformed frame');
    }
    for (const frame of frames) {
      this.#onOneFrame(channel, frame);
    }
  }

  #onOneFrame(channel: string, frame: WireFrame): void {
    if (frame.from === this.nodeId && !(frame.k === 'pub' && frame.e === 1)) {
      return; // every node hears its own publications; ignore them unless asked to hear them
    }
    if (frame.k === 'pub') {
      if (this.#isMessage(frame.m)) {
        this.#channels.emit(channel.slice(this.#prefix.length + 3), frame.m, frame.from);
      } else {
        this.#log.warn({ channel, type: frame.m.type, from: frame.from }, 'cluster: dropped a malformed message');
      }
    } else if (frame.k === 'req') {
      const { from, id } = frame;
      this.#responder.answer(from, frame.s, frame.m, (reply) => {
        this.#outbox.send(this.#inbox(from), JSON.stringify({ k: 'res', from: this.nodeId, id, ...reply })).catch((err: unknown) => {
          // The requester times out or fails on its own bus loss; nothing else to do here.
          this.#log.warn({ err, to: from }, 'cluster: could not send a reply');
        });
      });
    } else if (frame.ok) {
      this.#pending.resolveFrom(frame.from, frame.id, frame.body);
    } else {
      this.#pending.failFrom(frame.from, frame.id, new AppError(frame.error.code, frame.error.message));
    }
  }

  /** A request to this very node: no transport (our own frames are dropped), same semantics. */
  #requestSelf(message: M, timeoutMs: number): Promise<unknown> {
    const { id, reply } = this.#pending.open(this.nodeId, timeoutMs);
    const copy: unknown = JSON.parse(JSON.stringify(message));
    queueMicrotask(() =>
      this.#responder.answer(this.nodeId, undefined, copy, (r) => {
        if (r.ok) {
          this.#pending.resolve(id, JSON.parse(JSON.stringify(r.body)));
        } else {
          this.#pending.fail(id, new AppError(r.error.code, r.error.message));
        }
      }),
    );
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
      this.#events.emit('connection', false);
    }
  }

  /** After a reconnect: the inbox and every channel with handlers, a heartbeat, then `connected`. */
  async #restore(): Promise<void> {
    try {
      for (const channel of [this.#inbox(this.nodeId), ...this.#channels.eventNames().map((c) => this.#channel(c))]) {
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
    this.#members.graceFromNow();
    this.#events.emit('connection', true);
    await this.#beat();
  }

  async #beat(): Promise<void> {
    if (this.#beating || this.#closed) {
      return;
    }
    this.#beating = true;
    try {
      const result = await this.#t.heartbeat(this.nodeId, this.#timing.heartbeatTtlMs, this.#links?.address);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may have run during the await
      if (this.#closed) {
        return;
      }
      const { evicted, lost } = this.#members.judge(result);
      for (const id of lost) {
        this.#links?.forget(id);
        this.#responder.forget(id);
        this.#pending.failNode(id, new AppError('UNAVAILABLE', `Node ${id} was lost`));
        this.#events.emit('lost', id);
      }
      this.#links?.update(new Map(Object.entries(result.addresses).filter(([id]) => this.#members.has(id))));
      if (evicted) {
        this.#log.warn({ nodeId: this.nodeId }, 'cluster: this node had been dropped from the registry');
        this.#events.emit('lost', this.nodeId);
      }
    } catch (err) {
      // Unreachable registry: nobody can be judged lost; heartbeats resume when it returns.
      this.#members.beatFailed();
      this.#log.debug({ err }, 'cluster: heartbeat failed');
    } finally {
      this.#beating = false;
    }
  }
}

/** Any transport failure as an AppError: UNAVAILABLE unless it already is one. */
function toAppError(err: unknown): AppError {
  return err instanceof AppError ? err : new AppError('UNAVAILABLE', 'The cluster bus is unavailable');
}
