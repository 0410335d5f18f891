import type { Clock } from '@heliograph/common';

/**
 * Runs an expensive gather (asking every node of the cluster) for many callers at once, so that
 * a flood of REST calls or `listStreamers` costs the cluster a bounded number of gathers: at most
 * one runs at a time, and one starts at most every `spacingMs`. Every caller gets the result of
 * a gather that started after it called, so nothing it did before is missing from the answer.
 */
export class FreshGather<T> {
  #running: Promise<T> | undefined;
  #next: Promise<T> | undefined;
  #lastStart = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly gather: () => Promise<T>,
    private readonly clock: Clock,
    private readonly spacingMs: number,
  ) {}

  get(): Promise<T> {
    if (!this.#running) {
      return this.#start();
    }
    // One is under way and may have started before this call: wait for the one after it.
    this.#next ??= this.#running
      .catch(() => undefined)
      .then(() => {
        this.#next = undefined;
        return this.#start();
      });
    return this.#next;
  }

  #start(): Promise<T> {
    const wait = Math.max(0, this.#lastStart + this.spacingMs - this.clock.now());
    this.#lastStart = this.clock.now() + wait;
    const run = wait > 0 ? new Promise<void>((resolve) => this.clock.setTimeout(resolve, wait)).then(() => this.gather()) : this.gather();
    const running = run.finally(() => {
      if (this.#running === running) {
        this.#running = undefined;
      }
    });
    this.#running = running;
    return running;
  }
}
