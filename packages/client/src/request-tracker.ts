import type { ErrorBody } from '@heliograph/protocol';
import type { ClientClock } from './clock.js';
import { HeliographError } from './errors.js';

interface Pending {
  resolve: (data: unknown) => void;
  reject: (err: HeliographError) => void;
  timer: unknown;
}

/** Requests in flight: each settles exactly once, by its response, its timeout, or `failAll`. */
export class RequestTracker {
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  constructor(private readonly clock: ClientClock) {}

  get size(): number {
    return this.#pending.size;
  }

  /** Registers a request and returns its id and the promise of its result. */
  start(timeoutMs: number, what: string): { id: number; result: Promise<unknown> } {
    const id = this.#nextId++;
    const result = new Promise<unknown>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.#pending.delete(id);
        reject(new HeliographError({ code: 'TIMEOUT', message: `${what} got no answer within ${timeoutMs} ms` }));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
    });
    return { id, result };
  }

  resolve(id: number, data: unknown): void {
    this.#take(id)?.resolve(data);
  }

  reject(id: number, error: ErrorBody): void {
    this.#take(id)?.reject(new HeliographError(error));
  }

  /** Rejects every pending request, e.g. when the connection is lost. */
  failAll(error: ErrorBody): void {
    for (const id of [...this.#pending.keys()]) {
      this.reject(id, error);
    }
  }

  #take(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    if (pending) {
      this.#pending.delete(id);
      this.clock.clearTimeout(pending.timer);
    }
    return pending;
  }
}
