import type { Clock, TimerHandle } from '@heliograph/common';

/**
 * Paces `session.ack`: at most one per `intervalMs`, and only when events arrived since the last
 * one. The first event after a quiet spell starts the interval, so a burst of events costs one ack.
 */
export class AckPacer {
  #last = 0;
  #acked = 0;
  #timer: TimerHandle | undefined;

  /** `send` acks `seq` and says whether it could (false while the connection is not open). */
  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly send: (seq: number) => boolean,
  ) {}

  /** An event with this seq was processed. */
  seen(seq: number): void {
    this.#last = Math.max(this.#last, seq);
    if (this.#timer === undefined && this.#last > this.#acked) {
      this.#timer = this.clock.setTimeout(() => this.#flush(), this.intervalMs);
    }
  }

  /** The server already knows everything up to `seq` (a new session, or a resume from `seq`). */
  reset(seq: number): void {
    this.stop();
    this.#last = seq;
    this.#acked = seq;
  }

  /** Stops the pending ack (the connection dropped); `seen` starts it again. */
  stop(): void {
    this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #flush(): void {
    this.#timer = undefined;
    if (this.#last > this.#acked && this.send(this.#last)) {
      this.#acked = this.#last;
    }
  }
}
