export interface MessageGateOptions {
  /** Messages held while a step is pending; more are dropped (`onDrop`). Default 1,000: more than a connection's default burst (400). */
  maxQueued?: number;
  onDrop: () => void;
  onError: (err: unknown) => void;
}

/**
 * Keeps one connection's messages in order around asynchronous steps. A handler that returns a
 * promise (a cluster round trip: a player id, a claim, a cross-node subscribe) holds the messages
 * after it until the promise settles. Handlers that return at once run at once, so a node without
 * a cluster stays synchronous. Messages pushed before `open()` wait for it.
 */
export class MessageGate<T> {
  readonly #queue: T[] = [];
  #handler: ((message: T) => unknown) | undefined;
  #busy = false;

  constructor(private readonly opts: MessageGateOptions) {}

  push(message: T): void {
    if (this.#busy || !this.#handler) {
      if (this.#queue.length >= (this.opts.maxQueued ?? 1_000)) {
        this.opts.onDrop();
        return;
      }
      this.#queue.push(message);
      return;
    }
    this.#run(this.#handler, message);
  }

  /** Sets the handler and runs what was queued meanwhile. */
  open(handler: (message: T) => unknown): void {
    this.#handler = handler;
    this.#drain();
  }

  #run(handler: (message: T) => unknown, message: T): void {
    let result: unknown;
    try {
      result = handler(message);
    } catch (err) {
      this.opts.onError(err);
      return;
    }
    if (result instanceof Promise) {
      this.#busy = true;
      result.then(
        () => this.#resume(),
        (err: unknown) => {
          this.opts.onError(err);
          this.#resume();
        },
      );
    }
  }

  #resume(): void {
    this.#busy = false;
    this.#drain();
  }

  #drain(): void {
    const handler = this.#handler;
    while (handler && !this.#busy && this.#queue.length > 0) {
      this.#run(handler, this.#queue.shift()!);
    }
  }
}
