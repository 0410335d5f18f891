/** Counts free slots; `acquire` waits (in order) for one unless its signal aborts first. */
export class Semaphore {
  #free: number;
  readonly #waiting: Array<{ resolve: () => void; reject: (err: Error) => void; signal: AbortSignal; onAbort: () => void }> = [];

  constructor(slots: number) {
    this.#free = slots;
  }

  acquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted) {
      return Promise.reject(new Error('aborted'));
    }
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const entry = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.#waiting.indexOf(entry);
          if (i >= 0) {
            this.#waiting.splice(i, 1);
          }
          reject(new Error('aborted'));
        },
      };
      signal.addEventListener('abort', entry.onAbort, { once: true });
      this.#waiting.push(entry);
    });
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) {
      next.signal.removeEventListener('abort', next.onAbort);
      next.resolve();
    } else {
      this.#free++;
    }
  }

  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }
}
