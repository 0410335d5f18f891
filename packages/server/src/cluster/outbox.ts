/** A frame waiting for the end of the tick, with what to do once its batch is published. */
interface Outgoing {
  channel: string;
  frame: string;
  sent: (receivers: number) => void;
  failed: (err: unknown) => void;
}

/**
 * Sends frames at the end of this tick. Frames sent in one tick (many relays read from one
 * socket read) go out together: consecutive frames to one channel as one publication (a JSON
 * array), channels in the order they were first sent to, so that order across channels holds
 * too. One PUBLISH per batch instead of per frame is what keeps the Redis path cheap.
 */
export class Outbox {
  #queue: Outgoing[] = [];
  readonly #publish: (channel: string, payload: string) => Promise<number>;

  constructor(publish: (channel: string, payload: string) => Promise<number>) {
    this.#publish = publish;
  }

  /** Resolves with how many subscribers received the publication that carried the frame. */
  send(channel: string, frame: string): Promise<number> {
    if (this.#queue.length === 0) {
      queueMicrotask(() => this.#flush());
    }
    return new Promise((sent, failed) => this.#queue.push({ channel, frame, sent, failed }));
  }

  #flush(): void {
    const queue = this.#queue;
    this.#queue = [];
    for (let i = 0; i < queue.length;) {
      const channel = queue[i]!.channel;
      let end = i + 1;
      while (end < queue.length && queue[end]!.channel === channel) {
        end++;
      }
      const batch = queue.slice(i, end);
      const payload = batch.length === 1 ? batch[0]!.frame : `[${batch.map((o) => o.frame).join(',')}]`;
      this.#publish(channel, payload).then(
        (receivers) => batch.forEach((o) => o.sent(receivers)),
        (err: unknown) => batch.forEach((o) => o.failed(err)),
      );
      i = end;
    }
  }
}
