import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';

/** A dialect message as a peer reads it off the wire. */
export type PsMessage = { type: string } & Record<string, unknown>;

/** How the connection ended, as the remote peer sees it (1005: closed with no code, 1006: dropped). */
export interface PeerClose {
  code: number;
  reason: string;
}

const CLOSING = 2;

/**
 * The server's `ws` end of one dialect connection, as much of it as `PsSocket` uses. The server's
 * `close()` only starts the closing handshake: `close` is emitted when the peer answers
 * (`FakePsPeer.hangUp`), so a test sees what the signalling did without waiting for it.
 * `terminate()` drops the connection at once, as `ws` does.
 */
class FakeServerWs extends EventEmitter {
  readonly OPEN = 1;
  readonly CLOSED = 3;
  readyState = this.OPEN;
  bufferedAmount = 0;
  readonly frames: string[] = [];
  pings = 0;
  /** What the peer was told when the server closed or dropped it. */
  seenClose: PeerClose | undefined;

  send(data: string): void {
    this.frames.push(data);
  }

  close(code?: number, reason?: string): void {
    if (this.readyState !== this.OPEN) {
      return;
    }
    this.readyState = CLOSING;
    this.seenClose = { code: code ?? 1005, reason: reason ?? '' };
  }

  terminate(): void {
    if (this.readyState === this.CLOSED) {
      return;
    }
    this.seenClose ??= { code: 1006, reason: '' };
    this.finish();
  }

  ping(): void {
    this.pings++;
  }

  finish(): void {
    if (this.readyState === this.CLOSED) {
      return;
    }
    this.readyState = this.CLOSED;
    this.emit('close');
  }
}

/**
 * The remote end of a dialect connection, played by a test: it records what the server sent
 * (read with `take()`), and sends frames, pongs and closes the way a peer's `ws` would.
 */
export class FakePsPeer {
  readonly #ws = new FakeServerWs();
  #read = 0;

  /** The `ws` a `PsSocket` is built on (the fake has only the part `PsSocket` uses). */
  get ws(): WebSocket {
    return this.#ws as unknown as WebSocket;
  }

  /** Every message the server sent, in order. */
  get log(): PsMessage[] {
    return this.#ws.frames.map((f) => JSON.parse(f) as PsMessage);
  }

  /** The messages sent since the last `take()`, in order. */
  take(): PsMessage[] {
    const unread = this.log.slice(this.#read);
    this.#read += unread.length;
    return unread;
  }

  /** The types of the messages sent since the last `take()`. */
  takeTypes(): string[] {
    return this.take().map((m) => m.type);
  }

  /** How the server ended the connection; undefined while it has not. */
  get closed(): PeerClose | undefined {
    return this.#ws.seenClose;
  }

  /** WebSocket pings the server sent (streamer keepalive). */
  get pings(): number {
    return this.#ws.pings;
  }

  /** Bytes the server's socket is holding for this peer. */
  set bufferedAmount(bytes: number) {
    this.#ws.bufferedAmount = bytes;
  }

  /** A text frame from the peer. */
  send(message: Record<string, unknown>): void {
    this.sendRaw(JSON.stringify(message));
  }

  sendRaw(text: string): void {
    this.#ws.emit('message', Buffer.from(text));
  }

  /** The peer's automatic answer to a WebSocket ping. */
  pong(): void {
    this.#ws.emit('pong');
  }

  /** The peer closes (or answers the server's close): the server's socket is closed. */
  hangUp(): void {
    this.#ws.finish();
  }
}
