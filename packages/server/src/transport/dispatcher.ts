import { encodeError, encodeOk, type ErrorBody, type Request, type RequestType } from '@heliograph/protocol';
import type { Clock } from '@heliograph/common';
import type { Handler, HandlerMap, Session } from '../handlers/index.js';
import { AppError } from '../shared/app-error.js';
import type { ErrorReporter } from '../shared/error-reporter.js';
import type { RequestTap } from './request-tap.js';

export interface DispatcherOptions {
  handlers: HandlerMap;
  clock: Clock;
  errors: ErrorReporter;
  requestTimeoutMs: number;
  /** Told about every answered request while active (the operator console). */
  tap?: RequestTap | undefined;
}

/** Hands the answer on; `error` is its code when the request failed. */
type Reply = (frame: string, error?: string) => void;

/**
 * Runs a validated request's handler and produces exactly one response frame: the result, the
 * handler's AppError, INTERNAL for anything else (a throw, a result that will not serialise), or
 * TIMEOUT if an async handler takes too long. Nothing a handler does can throw past `dispatch`.
 */
export class Dispatcher {
  readonly #opts: DispatcherOptions;

  constructor(options: DispatcherOptions) {
    this.#opts = options;
  }

  /** A frame its connection answered with `code` before it could be dispatched (see `RequestTap.refused`). */
  refused(code: string): void {
    const tap = this.#opts.tap;
    if (tap?.active) {
      tap.refused(code);
    }
  }

  dispatch(session: Session, request: Request, reply: Reply): void {
    const tap = this.#opts.tap;
    if (tap?.active) {
      const startedAt = tap.now();
      this.#run(session, request, (frame, error) => {
        reply(frame);
        // After the reply: a tap that throws cannot cost the client its answer.
        try {
          tap.answered(session, request, frame, startedAt, error);
        } catch (err) {
          this.#opts.errors.report('tap', err, { type: request.type });
        }
      });
      return;
    }
    this.#run(session, request, reply);
  }

  #run(session: Session, request: Request, reply: Reply): void {
    // The map is keyed by the same union as `request`; TypeScript cannot correlate the two.
    const handler = this.#opts.handlers[request.type] as Handler<RequestType>;
    let result: unknown;
    try {
      result = handler(session, request.data);
    } catch (err) {
      this.#fail(err, request, reply);
      return;
    }
    if (result instanceof Promise) {
      this.#settle(result, request, reply);
    } else {
      this.#succeed(result, request, reply);
    }
  }

  #settle(pending: Promise<unknown>, request: Request, reply: Reply): void {
    const { clock, requestTimeoutMs } = this.#opts;
    let answered = false;
    const timer = clock.setTimeout(() => {
      answered = true;
      this.#send(
        encodeError(request.id, new AppError('TIMEOUT', `"${request.type}" took longer than ${requestTimeoutMs} ms`).toBody()),
        request,
        reply,
        'TIMEOUT',
      );
    }, requestTimeoutMs);
    pending.then(
      (value) => {
        if (!answered) {
          answered = true;
          clock.clearTimeout(timer);
          this.#succeed(value, request, reply);
        }
      },
      (err: unknown) => {
        if (!answered) {
          answered = true;
          clock.clearTimeout(timer);
          this.#fail(err, request, reply);
        }
      },
    );
  }

  #succeed(result: unknown, request: Request, reply: Reply): void {
    let frame: string;
    try {
      frame = encodeOk(request.id, result);
    } catch (err) {
      this.#fail(err, request, reply);
      return;
    }
    this.#send(frame, request, reply);
  }

  #fail(err: unknown, request: Request, reply: Reply): void {
    const body = this.#errorBody(err, request);
    this.#send(encodeError(request.id, body), request, reply, body.code);
  }

  /** Hands the answer to the connection; a throw there is reported, never left to escape a promise. */
  #send(frame: string, request: Request, reply: Reply, error?: string): void {
    try {
      reply(frame, error);
    } catch (err) {
      this.#opts.errors.report('reply', err, { type: request.type });
    }
  }

  #errorBody(err: unknown, request: Request): ErrorBody {
    if (err instanceof AppError) {
      return err.toBody();
    }
    this.#opts.errors.report('request', err, { type: request.type });
    return new AppError('INTERNAL').toBody();
  }
}
