import type { WebSocket } from 'ws';

/** The TCP socket under a `ws` WebSocket. `_socket` is internal to `ws`, but stable since ws 1.x. */
function rawSocket(ws: WebSocket): { cork(): void; uncork(): void } | undefined {
  return (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
}

/**
 * Coalesces the frames written to one socket during one turn of the event loop into a single
 * write. Frames are queued, and on the next tick written between `cork()` and `uncork()`, so a
 * burst of relays and acks costs one system call instead of one per frame. The socket is never
 * left corked across ticks: a lone frame goes out as soon as the current turn ends.
 */
export class WriteBatcher {
  #queue: string[] = [];
  readonly #flush = (): void => {
    const frames = this.#queue;
    if (frames.length === 0) {
      return;
    }
    this.#queue = [];
    if (frames.length === 1) {
      this.ws.send(frames[0]!);
      return;
    }
    const socket = rawSocket(this.ws);
    socket?.cork();
    for (const frame of frames) {
      this.ws.send(frame);
    }
    socket?.uncork();
  };

  constructor(private readonly ws: WebSocket) {}

  /** Writes what is queued now, e.g. before a close frame that must come after it. */
  flush(): void {
    this.#flush();
  }

  send(frame: string): void {
    if (this.#queue.push(frame) === 1) {
      process.nextTick(this.#flush);
    }
  }
}
