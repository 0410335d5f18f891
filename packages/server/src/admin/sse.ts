import type { FastifyReply } from 'fastify';
import type { Clock } from '@heliograph/common';

/** One open Server-Sent Events response. */
export interface SseStream {
  send(event: string, data: unknown): void;
  /** Ends the response (idempotent). */
  end(): void;
  readonly closed: boolean;
}

/** Headroom before a slow reader's stream is ended rather than buffered without bound. */
const MAX_BUFFERED = 4 * 1024 * 1024;

/**
 * Takes over `reply` as an event stream. `onClose` runs once, when the client goes or the
 * stream is ended. A comment every 15 s keeps proxies from timing it out.
 */
export function openSse(reply: FastifyReply, clock: Clock, onClose: () => void): SseStream {
  void reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  raw.write(': heliograph\n\n');
  let closed = false;
  const keepalive = clock.setInterval(() => raw.write(': keepalive\n\n'), 15_000);
  const finish = (): void => {
    if (closed) {
      return;
    }
    closed = true;
    clock.clearInterval(keepalive);
    onClose();
  };
  raw.once('close', finish);
  return {
    get closed() {
      return closed;
    },
    send(event, data) {
      if (closed) {
        return;
      }
      if (raw.writableLength > MAX_BUFFERED) {
        raw.end();
        finish();
        return;
      }
      raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end() {
      if (!closed) {
        raw.end();
        finish();
      }
    },
  };
}
