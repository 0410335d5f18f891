import type {
  ErrorBody,
  ErrorCode,
  EventData,
  EventType,
  RequestData,
  RequestResult,
  RequestType,
} from '@heliograph/protocol';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { realClock, type ClientClock } from './clock.js';
import { Emitter } from './emitter.js';
import { HeliographError } from './errors.js';
import { RequestTracker } from './request-tracker.js';

/** Refusals of a rejoin that may pass by themselves (a node's Redis blip, load). */
const TRANSIENT_JOIN_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['UNAVAILABLE', 'TIMEOUT', 'RATE_LIMITED']);
/** Tries of a rejoin on one connection before `rejoin.failed`. */
const REJOIN_ATTEMPTS = 5;

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/**
 * An event handler property that implementations may type with their own, richer event class
 * (`ws`'s `CloseEvent`, the DOM's): checked bivariantly, as method parameters are.
 */
type Handler<E> = { bivariant(event: E): void }['bivariant'];

/** What the SDK needs of a WebSocket: the browser's, Node 22's global one, or `ws`. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketFactory = new (url: string) => WebSocketLike;

export interface ReconnectOptions extends BackoffOptions {
  enabled: boolean;
  /** Give up after this many failed attempts in a row. */
  maxAttempts: number;
}

export interface ClientOptions {
  /** The server's native endpoint, `wss://host/ws`. */
  url: string;
  /** A join token, or a function that returns a fresh one for every (re)connection. */
  token: string | (() => string | Promise<string>);
  /** WebSocket implementation; defaults to `globalThis.WebSocket`. Pass `ws`'s in Node 20. */
  WebSocket?: WebSocketFactory;
  /** Per-request timeout (default 10 s). */
  requestTimeoutMs?: number;
  /** Reconnect settings, or `false` to turn reconnecting off. */
  reconnect?: Partial<ReconnectOptions> | false;
  clock?: ClientClock;
  random?: () => number;
}

export interface StateDetail {
  code?: number;
  reason?: string;
  attempt?: number;
  delayMs?: number;
}

type RoomJoin = RequestData<'room.join'>;
type JoinResult = RequestResult<'room.join'>;

export type ClientEvents = { [K in EventType]: [EventData<K>] } & {
  /** The connection state changed; `detail` has the close code and the next retry. */
  state: [ConnectionState, StateDetail];
  /** After a reconnect, the room was joined again (with a new peer id). */
  rejoined: [JoinResult];
  /** After a reconnect, joining the room again failed; the client is no longer in a room. */
  'rejoin.failed': [HeliographError];
  /** The server answered a frame it could not attribute to a request (should not happen). */
  warning: [ErrorBody];
};

const DEFAULT_RECONNECT: ReconnectOptions = {
  enabled: true,
  initialDelayMs: 500,
  maxDelayMs: 10_000,
  factor: 2,
  jitter: 0.5,
  maxAttempts: Number.POSITIVE_INFINITY,
};

/**
 * How long a connection must have stayed open for the backoff to start again from the first
 * delay. A node that accepts and then drops the client at once (a flood close, a crash loop, a
 * user's connection rate) would otherwise be reconnected to at the first delay, forever.
 */
const STABLE_AFTER_MS = 10_000;

/** Close codes after which reconnecting cannot help. */
const FINAL_CLOSE_CODES = new Set([1000, 4400, 4409]);
const UNAUTHORIZED = 4401;

/**
 * A connection to a Heliograph server: typed requests, each settled by its response, a typed
 * error, or TIMEOUT; typed events; and automatic reconnects that rejoin the room.
 */
export class HeliographClient extends Emitter<ClientEvents> {
  readonly #opts: ClientOptions;
  readonly #reconnect: ReconnectOptions;
  readonly #clock: ClientClock;
  readonly #tracker: RequestTracker;
  #ws: WebSocketLike | undefined;
  #state: ConnectionState = 'idle';
  #attempt = 0;
  /** When the current connection got `session.ready`. */
  #readyAt: number | undefined;
  #unauthorizedInARow = 0;
  #retryTimer: unknown;
  #rejoinTimer: unknown;
  #drainTimer: unknown;
  #room: RoomJoin | undefined;
  #peerId: string | undefined;
  #userId: string | undefined;
  #firstConnect: { resolve: () => void; reject: (err: HeliographError) => void } | undefined;

  constructor(options: ClientOptions) {
    super();
    this.#opts = options;
    this.#clock = options.clock ?? realClock;
    this.#tracker = new RequestTracker(this.#clock);
    this.#reconnect = options.reconnect === false ? { ...DEFAULT_RECONNECT, enabled: false } : { ...DEFAULT_RECONNECT, ...options.reconnect };
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** This connection's peer id in its room, if it is in one. */
  get peerId(): string | undefined {
    return this.#peerId;
  }

  /** The user id the server confirmed in `session.ready`. */
  get userId(): string | undefined {
    return this.#userId;
  }

  /** The room this client is in (and will rejoin after a reconnect). */
  get room(): string | undefined {
    return this.#room?.room;
  }

  /** Opens the connection; resolves once the server has accepted the token. */
  connect(): Promise<void> {
    if (this.#state !== 'idle' && this.#state !== 'closed') {
      return Promise.reject(new HeliographError({ code: 'BAD_REQUEST', message: `cannot connect while ${this.#state}` }));
    }
    this.#attempt = 0;
    return new Promise((resolve, reject) => {
      this.#firstConnect = { resolve, reject };
      void this.#open('connecting');
    });
  }

  /** Sends a request; resolves with its result or rejects with a `HeliographError`. */
  request<K extends RequestType>(type: K, data: RequestData<K>, timeoutMs = this.#opts.requestTimeoutMs ?? 10_000): Promise<RequestResult<K>> {
    const ws = this.#ws;
    if (this.#state !== 'open' || !ws) {
      // Never queue: a request sent after a reconnect would make its timeout meaningless.
      return Promise.reject(new HeliographError({ code: 'UNAVAILABLE', message: `not connected (${this.#state})` }));
    }
    const { id, result } = this.#tracker.start(timeoutMs, type);
    ws.send(JSON.stringify({ id, type, data }));
    return result as Promise<RequestResult<K>>;
  }

  /** Joins a room and remembers it, so that a reconnect joins it again. */
  async join(data: RoomJoin): Promise<JoinResult> {
    const result = await this.request('room.join', data);
    this.#room = data;
    this.#peerId = result.peer.id;
    return result;
  }

  async leave(): Promise<void> {
    this.#room = undefined;
    this.#peerId = undefined;
    await this.request('room.leave', {});
  }

  /** Closes for good: no reconnect; pending requests fail with UNAVAILABLE. */
  close(): void {
    this.#clock.clearTimeout(this.#retryTimer);
    this.#clock.clearTimeout(this.#drainTimer);
    this.#clock.clearTimeout(this.#rejoinTimer);
    this.#room = undefined;
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws) {
      ws.onclose = null;
      ws.close(1000, 'client closed');
    }
    this.#closed({ code: 1000, reason: 'client closed' });
  }

  async #open(state: 'connecting' | 'reconnecting'): Promise<void> {
    this.#setState(state, this.#attempt > 0 ? { attempt: this.#attempt } : {});
    let token: string;
    try {
      token = typeof this.#opts.token === 'string' ? this.#opts.token : await this.#opts.token();
    } catch {
      this.#onClose({ code: 4401, reason: 'no token' });
      return;
    }
    const Ctor = this.#opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketFactory }).WebSocket;
    if (!Ctor) {
      throw new Error('No WebSocket implementation: pass options.WebSocket (e.g. from the ws package)');
    }
    const separator = this.#opts.url.includes('?') ? '&' : '?';
    const ws = new Ctor(`${this.#opts.url}${separator}token=${encodeURIComponent(token)}`);
    this.#ws = ws;
    ws.onmessage = (event) => this.#onFrame(String(event.data));
    ws.onclose = (event) => {
      if (this.#ws === ws) {
        this.#ws = undefined;
        this.#onClose(event);
      }
    };
    ws.onerror = () => undefined; // a close event always follows
  }

  #onFrame(text: string): void {
    let frame: { id?: number | string | null; ok?: boolean; data?: unknown; error?: ErrorBody; type?: string; seq?: number };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      return;
    }
    if (frame.seq !== undefined && frame.type) {
      this.#onEvent(frame.type as EventType, frame.data);
    } else if (typeof frame.id === 'number' && frame.ok !== undefined) {
      if (frame.ok) {
        this.#tracker.resolve(frame.id, frame.data);
      } else if (frame.error) {
        this.#tracker.reject(frame.id, frame.error);
      }
    } else if (frame.error) {
      this.emit('warning', frame.error);
    }
  }

  #onEvent(type: EventType, data: unknown): void {
    if (type === 'session.ready') {
      this.#onReady(data as EventData<'session.ready'>);
    } else if (type === 'server.draining') {
      this.#onDraining(data as EventData<'server.draining'>);
    }
    // Events the SDK does not know (a newer server) are passed on untyped; listeners ignore them.
    (this.emit as (t: EventType, d: unknown) => void)(type, data);
  }

  #onReady(ready: EventData<'session.ready'>): void {
    const wasReconnect = this.#state === 'reconnecting';
    this.#userId = ready.userId;
    this.#readyAt = this.#clock.now();
    this.#unauthorizedInARow = 0;
    this.#setState('open', {});
    this.#firstConnect?.resolve();
    this.#firstConnect = undefined;
    if (wasReconnect && this.#room) {
      void this.#rejoin(this.#room);
    }
  }

  /**
   * The node is going away: leave it at a random moment within the window it gave (so that its
   * clients do not all land on the next node at once) and reconnect, which rejoins the room.
   */
  #onDraining(drain: EventData<'server.draining'>): void {
    if (!this.#reconnect.enabled) {
      return;
    }
    const random = this.#opts.random ?? Math.random;
    const delay = Math.round(random() * drain.reconnectWithinMs);
    this.#clock.clearTimeout(this.#drainTimer);
    this.#drainTimer = this.#clock.setTimeout(() => {
      const ws = this.#ws;
      if (ws && this.#state === 'open') {
        this.#ws = undefined;
        ws.onclose = null;
        ws.close(1000, 'server draining');
        this.#onClose({ code: 1001, reason: 'server draining' });
      }
    }, delay);
  }

  /**
   * Joins the room again after a reconnect. A transient refusal (the node cannot reach its
   * cluster for a moment, a timeout, a rate limit) is retried with the reconnect backoff, up to
   * `REJOIN_ATTEMPTS` tries on this connection; anything else, or the last failure, is
   * `rejoin.failed` and the room is forgotten.
   */
  async #rejoin(room: RoomJoin, attempt = 0): Promise<void> {
    const ws = this.#ws;
    try {
      const result = await this.request('room.join', room);
      this.#peerId = result.peer.id;
      this.emit('rejoined', result);
    } catch (err) {
      const error = err as HeliographError;
      if (this.#ws !== ws || this.#room !== room) {
        return; // the connection went or the app left meanwhile: a later reconnect rejoins
      }
      if (TRANSIENT_JOIN_ERRORS.has(error.code) && attempt + 1 < REJOIN_ATTEMPTS) {
        const delayMs = error.body.retryAfterMs ?? backoffDelay(attempt, this.#reconnect, this.#opts.random);
        this.#clock.clearTimeout(this.#rejoinTimer);
        this.#rejoinTimer = this.#clock.setTimeout(() => {
          if (this.#ws === ws && this.#room === room && this.#state === 'open') {
            void this.#rejoin(room, attempt + 1);
          }
        }, delayMs);
        return;
      }
      this.#room = undefined;
      this.#peerId = undefined;
      this.emit('rejoin.failed', error);
    }
  }

  #onClose(event: { code: number; reason: string }): void {
    this.#tracker.failAll({ code: 'UNAVAILABLE', message: `connection lost (${event.code})` });
    this.#peerId = undefined;
    if (this.#readyAt !== undefined && this.#clock.now() - this.#readyAt >= STABLE_AFTER_MS) {
      this.#attempt = 0;
    }
    this.#readyAt = undefined;
    if (this.#shouldRetry(event.code)) {
      const delayMs = backoffDelay(this.#attempt, this.#reconnect, this.#opts.random);
      this.#attempt++;
      this.#setState('reconnecting', { code: event.code, reason: event.reason, attempt: this.#attempt, delayMs });
      this.#retryTimer = this.#clock.setTimeout(() => void this.#open('reconnecting'), delayMs);
      return;
    }
    this.#closed(event);
  }

  #shouldRetry(code: number): boolean {
    if (!this.#reconnect.enabled || this.#firstConnect || FINAL_CLOSE_CODES.has(code)) {
      return false;
    }
    if (code === UNAUTHORIZED) {
      // Only a token provider can make a retry succeed, and only once in a row.
      return typeof this.#opts.token === 'function' && ++this.#unauthorizedInARow <= 1;
    }
    return this.#attempt < this.#reconnect.maxAttempts;
  }

  #closed(event: { code: number; reason: string }): void {
    this.#room = undefined;
    this.#setState('closed', { code: event.code, reason: event.reason });
    if (this.#firstConnect) {
      const code = event.code === UNAUTHORIZED ? 'UNAUTHORIZED' : 'UNAVAILABLE';
      this.#firstConnect.reject(new HeliographError({ code, message: event.reason || `connection closed (${event.code})` }));
      this.#firstConnect = undefined;
    }
  }

  #setState(state: ConnectionState, detail: StateDetail): void {
    this.#state = state;
    this.emit('state', state, detail);
  }
}
