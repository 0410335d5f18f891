import type { ErrorBody } from '@heliograph/protocol';
import type { ClientClock } from './clock.js';
import { HeliographError } from './errors.js';

interface Pending {
  resolve: (data: unknown) => void;
  reject: (err: HeliographError) => void;
  timer: unknown;
  /** The request as sent, to send again with the same id after a session resume. */
  frame: string;
}

/**
 * Requests in flight: each settles exactly once, by its response, its timeout, or `failAll`.
 * Ids count up from 1 for the life of the tracker (one per client) and never repeat: after a
 * session resume the server recognises a re-sent id and answers it once, so an id used twice
 * would get the other request's answer.
 */
export class RequestTracker {
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  constructor(private readonly clock: ClientClock) {}

  get size(): number {
    return this.#pending.size;
  }

  /**
   * Registers a request and returns its id, its frame (`encode(id)`, to send) and the promise of
   * its result.
   */
  start(timeoutMs: number, what: string, encode: (id: number) => string): { id: number; frame: string; result: Promise<unknown> } {
    const id = this.#nextId++;
    const frame = encode(id);
    const result = new Promise<unknown>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.#pending.delete(id);
        reject(new HeliographError({ code: 'TIMEOUT', message: `${what} got no answer within ${timeoutMs} ms` }));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer, frame });
    });
    return { id, frame, result };
  }

  /** The frames of the requests still waiting for an answer, oldest first. */
  frames(): string[] {
    return [...this.#pending.values()].map((p) => p.frame);
  }

  resolve(id: number, data: unknown): void {
    this.#take(id)?.resolve(data);
  }

  reject(id: number, error: ErrorBody): void {
    this.#take(id)?.reject(new HeliographError(error));
  }

  /** Rejects every pending request, e.g. when the connection or the session is lost. */
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
