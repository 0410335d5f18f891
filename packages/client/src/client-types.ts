// The SDK client's types: its options, its events, what it needs of a WebSocket, and the shapes
// of its session bookkeeping (client.ts holds the behaviour).
import type { ErrorBody, EventData, EventType, RequestData, RequestResult, RequestType } from '@heliograph/protocol';
import type { Clock } from '@heliograph/common';
import type { BackoffOptions } from './backoff.js';
import type { HeliographError } from './errors.js';

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
  clock?: Clock;
  random?: () => number;
}

export interface StateDetail {
  code?: number;
  reason?: string;
  attempt?: number;
  delayMs?: number;
  /**
   * On `reconnecting`: the server keeps this client's session for a while, so the next connection
   * will try to resume it (same peer id and room; calls are kept). False once it cannot be.
   */
  resumable?: boolean;
  /** On `open`: this connection took over the session (resume accepted); its missed events follow, then `resumed`. */
  resumed?: boolean;
}

export type RoomJoin = RequestData<'room.join'>;
export type JoinResult = RequestResult<'room.join'>;
export type ResumeResult = RequestResult<'session.resume'>;
export type Ready = EventData<'session.ready'>;
export type ResumeCredentials = NonNullable<Ready['resume']>;

export type ClientEvents = { [K in EventType]: [EventData<K>] } & {
  /** The connection state changed; `detail` has the close code and the next retry. */
  state: [ConnectionState, StateDetail];
  /**
   * After a drop, a new connection resumed the session: same peer id, same room, the events sent
   * meanwhile were delivered (`replayed` of them, before this event) and requests in flight were
   * answered. Nothing else is emitted about the drop.
   */
  resumed: [ResumeResult];
  /** After a reconnect that could not resume, the room was joined again (with a new peer id). */
  rejoined: [JoinResult];
  /** After a reconnect, joining the room again failed; the client is no longer in a room. */
  'rejoin.failed': [HeliographError];
  /** The server answered a frame it could not attribute to a request (should not happen). */
  warning: [ErrorBody];
};

/**
 * A request in flight, as sent: re-sent with the same id after a session resume (the server
 * recognises the id and answers it once, so an id is never reused: the tracker's never are).
 */
export interface SentRequest {
  type: RequestType;
  frame: string;
}

/** The server session this client holds. The secret lives here only: never logged or emitted. */
export interface HeldSession {
  credentials: ResumeCredentials;
  /** When its connection dropped, while it waits to be resumed. */
  droppedAt?: number;
}

/** A `session.resume` in flight on a new connection, and that connection's own fresh session. */
export interface ResumeAttempt {
  id: number;
  fresh: { credentials: ResumeCredentials | undefined; seq: number; ready: Ready };
}
