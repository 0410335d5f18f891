import type { WebSocket } from 'ws';

/** The TCP socket under a `ws` WebSocket. `_socket` is internal to `ws`, but stable since ws 1.x. */
function rawSocket(ws: WebSocket): { cork(): void; uncork(): void } | undefined {
  return (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
}

/**
 * Coalesces the frames written to one socket during one turn of the event loop. The first frame
 * of a turn is written at once, so a lone relay waits for nothing; the frames that follow it in
 * the same turn are queued and written together on the next tick, between `cork()` and
 * `uncork()`, so a burst of relays and acks costs two system calls instead of one per frame.
 */
export class WriteBatcher {
  #inTurn = false;
  #queue: string[] = [];
  readonly #flush = (): void => {
    this.#inTurn = false;
    const frames = this.#queue;
    if (frames.length === 0) {
      return;
    }
    this.#queue = [];
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
    if (this.#inTurn) {
      this.#queue.push(frame);
      return;
    }
    this.#inTurn = true;
    process.nextTick(this.#flush);
    this.ws.send(frame);
  }
}
