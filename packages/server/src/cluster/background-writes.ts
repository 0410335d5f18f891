import type { Logger } from '../shared/logger.js';

/**
 * Directory writes that run in the background (nobody waits for them on the hot path): a failure
 * is logged with `what`, and `settle()` lets close() wait until none is left.
 */
export class BackgroundWrites {
  readonly #inflight = new Set<Promise<void>>();

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
  ) {}

  track(p: Promise<unknown>): void {
    const tracked = p.then(
      () => undefined,
      (err: unknown) => this.logger.warn({ err }, this.what),
    );
    this.#inflight.add(tracked);
    void tracked.finally(() => this.#inflight.delete(tracked));
  }

  /** Resolves once every write tracked so far, and those they started, has settled. */
  async settle(): Promise<void> {
    while (this.#inflight.size > 0) {
      await Promise.all([...this.#inflight]);
    }
  }
}
