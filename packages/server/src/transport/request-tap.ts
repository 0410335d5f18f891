import type { Request } from '@heliograph/protocol';
import type { Session } from '../handlers/handler.js';

/**
 * What the dispatcher tells an observer about each request it answers: the operator console's
 * metrics (signals, errors by code, relay latency) and the signalling inspector. It is read
 * once per request (`active`) and called only when that is true, so a node without it pays one
 * boolean check.
 */
export interface RequestTap {
  readonly active: boolean;
  /** Monotonic milliseconds, for the time a request took (not the injected wall clock). */
  now(): number;
  /**
   * The request has been answered with `frame`: `error` is the code when it failed, `startedAt`
   * the `now()` when it was dispatched.
   */
  answered(session: Session, request: Request, frame: string, startedAt: number, error: string | undefined): void;
  /**
   * A frame was answered with error `code` at the connection's edge, before any dispatch (a rate
   * limit, a frame too large, one that did not decode): counted with the errors by code.
   */
  refused(code: string): void;
}
