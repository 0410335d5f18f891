/* eslint-disable max-lines -- one state machine (connect, resume, rejoin, drain, close) over private
   fields that every step reads; splitting it would make those fields public or thread them through
   helpers. Its types are in client-types.ts. */
import type { CLOSE_CODES, ErrorBody, ErrorCode, EventData, EventType, RequestData, RequestResult, RequestType } from '@heliograph/protocol';
import { Emitter, RequestTracker, type Clock, type TimerHandle } from '@heliograph/common';
import { AckPacer } from './ack-pacer.js';
import { backoffDelay } from './backoff.js';
import { realClock } from './clock.js';
import { HeliographError } from './errors.js';
import type {
  ClientEvents,
  ClientOptions,
  ConnectionState,
  HeldSession,
  JoinResult,
  Ready,
  ReconnectOptions,
  ResumeAttempt,
  ResumeCredentials,
  ResumeResult,
  RoomJoin,
  SentRequest,
  StateDetail,
  WebSocketFactory,
  WebSocketLike,
} from './client-types.js';

export type { ClientEvents, ClientOptions, ConnectionState, ReconnectOptions, StateDetail, WebSocketFactory, WebSocketLike } from './client-types.js';

/** Refusals of a rejoin that may pass by themselves (a node's Redis blip, load). */
const TRANSIENT_JOIN_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['UNAVAILABLE', 'TIMEOUT', 'RATE_LIMITED']);
/** Tries of a rejoin on one connection before `rejoin.failed`. */
const REJOIN_ATTEMPTS = 5;

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
/** The client leaves a draining node to resume elsewhere (a value, so that the bundle needs no protocol code). */
const SESSION_MOVING: (typeof CLOSE_CODES)['SESSION_MOVING'] = 4302;
const UNAUTHORIZED = 4401;
/**
 * Closes after which the server keeps the session for `resume.windowMs`: a drop without a clean
 * close (1006, 1005), a ping timeout (4408), the server going away (1001, e.g. at a drain's end).
 */
const RESUMABLE_CLOSE_CODES = new Set([1001, 1005, 1006, 4408]);
/** `session.ack` at most this often. */
const ACK_INTERVAL_MS = 1000;

/**
 * A connection to a Heliograph server: typed requests, each settled by its response, a typed
 * error, or TIMEOUT; typed events; and automatic reconnects that resume the session (nothing
 * missed, `resumed`) or, when it cannot be resumed, rejoin the room (`rejoined`).
 */
export class HeliographClient extends Emitter<ClientEvents> {
  readonly #opts: ClientOptions;
  readonly #reconnect: ReconnectOptions;
  readonly #clock: Clock;
  readonly #tracker: RequestTracker<SentRequest>;
  #ws: WebSocketLike | undefined;
  #state: ConnectionState = 'idle';
  #attempt = 0;
  /** When the current connection got `session.ready`. */
  #readyAt: number | undefined;
  #unauthorizedInARow = 0;
  #retryTimer: TimerHandle | undefined;
  #rejoinTimer: TimerHandle | undefined;
  #drainTimer: TimerHandle | undefined;
  #room: RoomJoin | undefined;
  #peerId: string | undefined;
  #userId: string | undefined;
  #firstConnect: { resolve: () => void; reject: (err: HeliographError) => void } | undefined;
  /** The resumable server session, if the server offered resume. */
  #session: HeldSession | undefined;
  /** The seq of the last event processed in the session. */
  #lastSeq = 0;
  /** Whether the current connection carries the session (not while it is still resuming it). */
  #carried = false;
  #resuming: ResumeAttempt | undefined;
  /** Events still to come in a resume's replay, and the resume's answer. */
  #replay: { left: number; result: ResumeResult } | undefined;
  #windowTimer: TimerHandle | undefined;
  readonly #acks: AckPacer;

  constructor(options: ClientOptions) {
    super();
    this.#opts = options;
    this.#clock = options.clock ?? realClock;
    this.#tracker = new RequestTracker<SentRequest>({
      clock: this.#clock,
      timeoutError: (sent, timeoutMs) => new HeliographError({ code: 'TIMEOUT', message: `${sent.type} got no answer within ${timeoutMs} ms` }),
    });
    this.#acks = new AckPacer(this.#clock, ACK_INTERVAL_MS, (seq) => this.#ack(seq));
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

  /**
   * Sends a request; resolves with its result or rejects with a `HeliographError`. A request in
   * flight when the connection drops waits (within its timeout) while the session may be resumed,
   * and is sent again with the same id once it is; the server answers it once.
   */
  request<K extends RequestType>(type: K, data: RequestData<K>, timeoutMs = this.#timeoutMs): Promise<RequestResult<K>> {
    const ws = this.#ws;
    if (this.#state !== 'open' || !ws) {
      // Never queue: a request sent after a reconnect would make its timeout meaningless.
      return Promise.reject(new HeliographError({ code: 'UNAVAILABLE', message: `not connected (${this.#state})` }));
    }
    return this.#send(ws, type, data, timeoutMs).result as Promise<RequestResult<K>>;
  }

  get #timeoutMs(): number {
    return this.#opts.requestTimeoutMs ?? 10_000;
  }

  #send<K extends RequestType>(ws: WebSocketLike, type: K, data: RequestData<K>, timeoutMs: number): { id: number; result: Promise<unknown> } {
    const started = this.#tracker.open(timeoutMs, (id) => ({ type, frame: JSON.stringify({ id, type, data }) }));
    ws.send(started.meta.frame);
    return started;
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

  /**
   * Closes for good: no reconnect, no resume (the server ends the session at once; the others
   * see `peer.left`); pending requests fail with UNAVAILABLE.
   */
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
    const detail: StateDetail = this.#attempt > 0 ? { attempt: this.#attempt } : {};
    this.#setState(state, state === 'reconnecting' ? { ...detail, resumable: this.#resumable } : detail);
    let token: string;
    try {
      token = typeof this.#opts.token === 'string' ? this.#opts.token : await this.#opts.token();
    } catch {
      this.#onClose({ code: 4401, reason: 'no token' }, false);
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
        this.#onClose(event, RESUMABLE_CLOSE_CODES.has(event.code));
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
    if (typeof frame.seq === 'number' && frame.type) {
      this.#onEventFrame(frame.type as EventType, frame.seq, frame.data);
    } else if (typeof frame.id === 'number' && frame.ok !== undefined) {
      if (frame.id === this.#resuming?.id) {
        // Handled at once, not on a promise: the replay may follow in the same read.
        this.#onResumeAnswer(this.#resuming, frame.ok ? { result: frame.data as ResumeResult } : { error: frame.error });
      } else if (frame.ok) {
        this.#tracker.resolve(frame.id, frame.data);
      } else if (frame.error) {
        this.#tracker.reject(frame.id, new HeliographError(frame.error));
      }
    } else if (frame.error) {
      this.emit('warning', frame.error);
    }
  }

  #onEventFrame(type: EventType, seq: number, data: unknown): void {
    if (type === 'session.ready') {
      this.#onReady(data as Ready, seq);
      return;
    }
    if (this.#resuming) {
      // An event of the connection's own fresh session, before the resume is answered.
      this.#resuming.fresh.seq = seq;
      this.#onEvent(type, data);
      return;
    }
    const replay = this.#replay;
    if (seq > this.#lastSeq) {
      this.#lastSeq = seq;
      if (this.#session) {
        this.#acks.seen(seq);
      }
      this.#onEvent(type, data);
    } // else: already processed before the drop (a server would not replay it; be sure)
    if (replay && --replay.left <= 0 && this.#replay === replay) {
      this.#replay = undefined;
      this.emit('resumed', replay.result);
    }
  }

  #onEvent(type: EventType, data: unknown): void {
    if (type === 'server.draining') {
      this.#onDraining(data as EventData<'server.draining'>);
    }
    // Events the SDK does not know (a newer server) are passed on untyped; listeners ignore them.
    (this.emit as (t: EventType, d: unknown) => void)(type, data);
  }

  #onReady(ready: Ready, seq: number): void {
    this.#userId = ready.userId;
    this.#readyAt = this.#clock.now();
    this.#unauthorizedInARow = 0;
    const ws = this.#ws;
    if (ws && this.#session?.droppedAt !== undefined) {
      this.#startResume(ws, this.#session.credentials, { credentials: ready.resume, seq, ready });
    } else {
      this.#newSession(ready.resume, seq, ready);
    }
  }

  /** The connection starts a session of its own: the first one, or after a drop that could not be resumed. */
  #newSession(credentials: ResumeCredentials | undefined, seq: number, ready: Ready): void {
    const wasReconnect = this.#state === 'reconnecting';
    this.#session = credentials ? { credentials } : undefined;
    this.#carried = true;
    this.#lastSeq = seq;
    this.#acks.reset(seq);
    this.#setState('open', {});
    this.#firstConnect?.resolve();
    this.#firstConnect = undefined;
    if (wasReconnect && this.#room) {
      void this.#rejoin(this.#room);
    }
    const { resume: _secret, ...shown } = ready; // listeners never see the resume secret
    this.emit('session.ready', shown);
  }

  /** The first request on a new connection: take the dropped session over. */
  #startResume(ws: WebSocketLike, held: ResumeCredentials, fresh: ResumeAttempt['fresh']): void {
    const data = { session: held.session, secret: held.secret, lastSeq: this.#lastSeq };
    const { id, result } = this.#send(ws, 'session.resume', data, this.#timeoutMs);
    this.#resuming = { id, fresh };
    result.catch((err: unknown) => {
      if (this.#resuming?.id === id && this.#ws === ws && err instanceof HeliographError && err.code === 'TIMEOUT') {
        // No answer: the connection is most likely dead, so its close frame never arrives and the
        // session still waits. Try again on the next (if it did arrive, that try rejoins).
        this.#resuming = undefined;
        this.#ws = undefined;
        ws.onclose = null;
        ws.close();
        this.#onClose({ code: 1006, reason: 'session.resume got no answer' }, true);
      }
    });
  }

  #onResumeAnswer(attempt: ResumeAttempt, answer: { result: ResumeResult } | { error: ErrorBody | undefined }): void {
    this.#resuming = undefined;
    const ws = this.#ws;
    if (!ws || !this.#session) {
      return;
    }
    if ('error' in answer) {
      const error = answer.error ?? { code: 'INTERNAL', message: 'malformed answer' };
      this.#tracker.reject(attempt.id, new HeliographError(error));
      this.#loseSession(`the session was lost (${error.code}: ${error.message})`);
      this.#newSession(attempt.fresh.credentials, attempt.fresh.seq, attempt.fresh.ready);
      return;
    }
    const { result } = answer;
    this.#tracker.resolve(attempt.id, result);
    this.#clock.clearTimeout(this.#windowTimer);
    delete this.#session.droppedAt;
    this.#carried = true;
    this.#acks.reset(this.#lastSeq);
    if (result.peer) {
      this.#peerId = result.peer.id;
    }
    if (result.resume) {
      // The session moved to this node: the next resume names it there.
      this.#session.credentials = result.resume;
    }
    // Requests in flight at the drop, with their ids: the server answers each exactly once.
    for (const { frame } of this.#tracker.metas()) {
      ws.send(frame);
    }
    this.#setState('open', { resumed: true });
    if (result.replayed > 0) {
      this.#replay = { left: result.replayed, result };
    } else {
      this.emit('resumed', result);
    }
  }

  /** The session is gone: requests waiting for it fail, and the peer id is no more. */
  #loseSession(message: string): void {
    this.#clock.clearTimeout(this.#windowTimer);
    this.#session = undefined;
    this.#peerId = undefined;
    this.#tracker.rejectAll(new HeliographError({ code: 'UNAVAILABLE', message }));
  }

  /** Acks processed events (paced by `AckPacer`), so that the server can forget them. */
  #ack(seq: number): boolean {
    const ws = this.#ws;
    if (this.#state !== 'open' || !ws || !this.#carried || !this.#session) {
      return false;
    }
    this.#send(ws, 'session.ack', { seq }, this.#timeoutMs).result.catch(() => undefined);
    return true;
  }

  /**
   * The node is going away: leave it at a random moment within the window it gave (so that its
   * clients do not all land on the next node at once) and reconnect. Leaving with 4302 keeps the
   * session on the node, so that the next node takes it over (`session.resume`) with nothing lost;
   * without resume, the reconnect rejoins the room.
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
        const moving = this.#session !== undefined;
        ws.close(moving ? SESSION_MOVING : 1000, 'server draining');
        this.#onClose({ code: 1001, reason: 'server draining' }, moving);
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

  /**
   * The connection is gone. If it carried a session the server keeps (`resumable`), requests in
   * flight wait for the resume; otherwise they fail now. Then reconnect with backoff, or stop.
   */
  #onClose(event: { code: number; reason: string }, resumable: boolean): void {
    this.#acks.stop();
    this.#replay = undefined;
    const attempt = this.#resuming;
    this.#resuming = undefined;
    if (attempt) {
      this.#tracker.reject(attempt.id, new HeliographError({ code: 'UNAVAILABLE', message: 'connection lost' }));
    }
    if (this.#carried) {
      // A connection that was still resuming never took the session over: it waits on.
      this.#carried = false;
      if (this.#session && resumable && this.#reconnect.enabled) {
        this.#held(this.#session);
      } else {
        this.#loseSession(`connection lost (${event.code})`);
      }
    }
    if (this.#readyAt !== undefined && this.#clock.now() - this.#readyAt >= STABLE_AFTER_MS) {
      this.#attempt = 0;
    }
    this.#readyAt = undefined;
    if (this.#shouldRetry(event.code)) {
      const delayMs = backoffDelay(this.#attempt, this.#reconnect, this.#opts.random);
      this.#attempt++;
      this.#setState('reconnecting', { code: event.code, reason: event.reason, attempt: this.#attempt, delayMs, resumable: this.#resumable });
      this.#retryTimer = this.#clock.setTimeout(() => void this.#open('reconnecting'), delayMs);
      return;
    }
    this.#closed(event);
  }

  /** The session waits to be resumed, until its window ends. */
  #held(session: HeldSession): void {
    session.droppedAt = this.#clock.now();
    this.#clock.clearTimeout(this.#windowTimer);
    this.#windowTimer = this.#clock.setTimeout(() => {
      // A resume in flight is the server's to decide.
      if (this.#session === session && !this.#resuming) {
        this.#loseSession('the session was lost (not resumed within its window)');
        this.#setState(this.#state, { resumable: false });
      }
    }, session.credentials.windowMs);
  }

  get #resumable(): boolean {
    return this.#session?.droppedAt !== undefined;
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
    this.#acks.stop();
    this.#resuming = undefined;
    this.#replay = undefined;
    this.#carried = false;
    this.#loseSession(event.reason ? `connection closed (${event.code}: ${event.reason})` : `connection closed (${event.code})`);
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
