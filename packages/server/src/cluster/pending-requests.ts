import { AppError } from '../shared/app-error.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import type { NodeId } from './bus.js';

interface Pending {
  to: NodeId;
  timer: TimerHandle;
  resolve: (value: unknown) => void;
  reject: (err: AppError) => void;
}

/** Requests in flight to other nodes, by request id; each one settles exactly once. */
export class PendingRequests {
  readonly #clock: Clock;
  readonly #pending = new Map<string, Pending>();
  #next = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** A fresh request id and the promise its reply (or TIMEOUT after `timeoutMs`) settles. */
  open(to: NodeId, timeoutMs: number): { id: string; reply: Promise<unknown> } {
    const id = String(++this.#next);
    const reply = new Promise<unknown>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        this.fail(id, new AppError('TIMEOUT', `Node ${to} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { to, timer, resolve, reject });
    });
    return { id, reply };
  }

  resolve(id: string, value: unknown): void {
    this.#take(id)?.resolve(value);
  }

  fail(id: string, err: AppError): void {
    this.#take(id)?.reject(err);
  }

  /** Fails every request waiting on `to` (the node was lost). */
  failNode(to: NodeId, err: AppError): void {
    for (const [id, p] of this.#pending) {
      if (p.to === to) {
        this.fail(id, err);
      }
    }
  }

  failAll(err: AppError): void {
    for (const id of [...this.#pending.keys()]) {
      this.fail(id, err);
    }
  }

  #take(id: string): Pending | undefined {
    const p = this.#pending.get(id);
    if (p) {
      this.#pending.delete(id);
      this.#clock.clearTimeout(p.timer);
    }
    return p;
  }
}
