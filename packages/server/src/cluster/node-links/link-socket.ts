import type { Socket } from 'node:net';
import type { Clock, TimerHandle } from '@heliograph/common';
import type { NodeId } from '../bus.js';
import { encodeJson, Kind, type FrameReader, type RawFrame } from './link-frames.js';

/** How a link notices that the other end stopped (a stalled or cut-off node). */
export interface LinkLiveness {
  /** An idle link sends a PING this often; a busy one needs none. */
  pingMs: number;
  /** Nothing heard for this long ends the link. */
  deadMs: number;
  /** More than this many bytes waiting for the socket (the other end does not read) ends the link. */
  maxBufferedBytes: number;
}

export interface LinkSocketOptions {
  peer: NodeId;
  reader: FrameReader;
  clock: Clock;
  liveness: LinkLiveness;
  /** Each frame that is not a PING or PONG, in order. */
  onFrame: (frame: RawFrame) => void;
  /** Once, when the link ended for any reason. */
  onClose: (why: string) => void;
}

/**
 * One authenticated link: frames in, frames out. Frames written in one turn of the event loop
 * leave as one write (the relays read from many client sockets become one TCP send). PING/PONG keep an idle link's
 * liveness known; a link silent for `deadMs` or not read by the other end is destroyed.
 */
export class LinkSocket {
  readonly peer: NodeId;
  readonly #socket: Socket;
  readonly #o: LinkSocketOptions;
  #out: Buffer[] = [];
  #heardAt: number;
  #sentAt: number;
  readonly #timer: TimerHandle;
  #closed = false;

  constructor(socket: Socket, options: LinkSocketOptions, early: RawFrame[] = []) {
    this.peer = options.peer;
    this.#socket = socket;
    this.#o = options;
    this.#heardAt = this.#sentAt = options.clock.now();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('close', () => this.#end('closed'));
    socket.on('error', () => this.#end('socket error'));
    this.#timer = options.clock.setInterval(() => this.#check(), options.liveness.pingMs);
    for (const frame of early) {
      this.#onFrameIn(frame);
    }
  }

  get open(): boolean {
    return !this.#closed;
  }

  /**
   * Queues a frame; the frames of this turn of the event loop leave together, once the I/O of the
   * turn has been handled (`setImmediate`): the relays read from every client socket in one poll
   * phase share one system call per link. The wait is bounded by that turn's work. False when
   * the link has ended.
   */
  write(frame: Buffer): boolean {
    if (this.#closed) {
      return false;
    }
    if (this.#out.length === 0) {
      setImmediate(this.#flushNow);
    }
    this.#out.push(frame);
    return true;
  }

  /** Ends the link at once (a reset for the other end when `abort`, else a FIN after what is written). */
  close(why = 'closed here', abort = false): void {
    if (this.#closed) {
      return;
    }
    if (abort) {
      this.#socket.resetAndDestroy();
    } else {
      this.#flush();
      this.#socket.end();
      this.#socket.destroySoon();
    }
    this.#end(why);
  }

  readonly #flushNow = (): void => this.#flush();

  #flush(): void {
    const out = this.#out;
    this.#out = [];
    if (this.#closed || out.length === 0) {
      return;
    }
    this.#socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    this.#sentAt = this.#o.clock.now();
    if (this.#socket.writableLength > this.#o.liveness.maxBufferedBytes) {
      this.close('the other node does not read', true);
    }
  }

  #onData(chunk: Buffer): void {
    this.#heardAt = this.#o.clock.now();
    const frames = this.#o.reader.push(chunk);
    if (!frames) {
      this.close('oversized frame', true);
      return;
    }
    for (const frame of frames) {
      if (this.#closed) {
        return;
      }
      this.#onFrameIn(frame);
    }
  }

  #onFrameIn(frame: RawFrame): void {
    if (frame.kind === Kind.PING) {
      this.write(encodeJson(Kind.PONG, undefined));
    } else if (frame.kind !== Kind.PONG) {
      this.#o.onFrame(frame);
    }
  }

  #check(): void {
    const now = this.#o.clock.now();
    if (now - this.#heardAt >= this.#o.liveness.deadMs) {
      this.close('nothing heard from the other node', true);
    } else if (now - this.#sentAt >= this.#o.liveness.pingMs || now - this.#heardAt >= this.#o.liveness.pingMs) {
      this.write(encodeJson(Kind.PING, undefined));
    }
  }

  #end(why: string): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#out = [];
    this.#o.clock.clearInterval(this.#timer);
    if (!this.#socket.destroyed) {
      this.#socket.destroy();
    }
    this.#o.onClose(why);
  }
}
