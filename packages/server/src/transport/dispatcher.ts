import { encodeError, encodeOk, type ErrorBody, type Request, type RequestType } from '@heliograph/protocol';
import type { Handler, HandlerMap, Session } from '../handlers/index.js';
import { AppError } from '../shared/app-error.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';

export interface DispatcherOptions {
  handlers: HandlerMap;
  clock: Clock;
  logger: Logger;
  requestTimeoutMs: number;
}

/**
 * Runs a validated request's handler and produces exactly one response frame: the result, the
 * handler's AppError, INTERNAL for anything else, or TIMEOUT if an async handler takes too long.
 */
export class Dispatcher {
  readonly #opts: DispatcherOptions;

  constructor(options: DispatcherOptions) {
    this.#opts = options;
  }

  dispatch(session: Session, request: Request, reply: (frame: string) => void): void {
    // The map is keyed by the same union as `request`; TypeScript cannot correlate the two.
    const handler = this.#opts.handlers[request.type] as Handler<RequestType>;
    let result: unknown;
    try {
      result = handler(session, request.data);
    } catch (err) {
      reply(encodeError(request.id, this.#errorBody(err, request)));
      return;
    }
    if (result instanceof Promise) {
      this.#settle(result, request, reply);
    } else {
      reply(encodeOk(request.id, result));
    }
  }

  #settle(pending: Promise<unknown>, request: Request, reply: (frame: string) => void): void {
    const { clock, requestTimeoutMs } = this.#opts;
    let answered = false;
    const timer = clock.setTimeout(() => {
      answered = true;
      reply(encodeError(request.id, new AppError('TIMEOUT', `"${request.type}" took longer than ${requestTimeoutMs} ms`).toBody()));
    }, requestTimeoutMs);
    pending.then(
      (value) => {
        if (!answered) {
          answered = true;
          clock.clearTimeout(timer);
          reply(encodeOk(request.id, value));
        }
      },
      (err: unknown) => {
        if (!answered) {
          answered = true;
          clock.clearTimeout(timer);
          reply(encodeError(request.id, this.#errorBody(err, request)));
        }
      },
    );
  }

  #errorBody(err: unknown, request: Request): ErrorBody {
    if (err instanceof AppError) {
      return err.toBody();
    }
    this.#opts.logger.error({ err, type: request.type }, 'handler failed');
    return new AppError('INTERNAL').toBody();
  }
}
