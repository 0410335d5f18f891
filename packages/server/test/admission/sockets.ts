import { request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { WebSocket, type ClientOptions } from 'ws';

/** A raw TCP client that records what it got and when the server closed it. */
export interface RawSocket {
  readonly socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves once the connection is closed (by either side). */
  readonly closed: Promise<void>;
  readonly isClosed: () => boolean;
  destroy(): void;
}

/** Connects to `port` on loopback and resolves once connected; sends nothing. */
export function openRaw(port: number): Promise<RawSocket> {
  const socket = connect(port, '127.0.0.1');
  let data = '';
  let done = false;
  // Reading keeps the socket flowing, so that a close by the server is seen.
  socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      done = true;
      resolve();
    }),
  );
  const raw: RawSocket = {
    socket,
    received: () => data,
    closed,
    isClosed: () => done,
    destroy: () => socket.destroy(),
  };
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(raw));
    socket.once('error', reject);
  });
}

/** Opens `count` idle sockets, one after another (the server accepts them in this order). */
export async function openIdle(port: number, count: number): Promise<RawSocket[]> {
  const sockets: RawSocket[] = [];
  for (let i = 0; i < count; i++) {
    sockets.push(await openRaw(port));
  }
  return sockets;
}

/**
 * Writes `text` one byte every `everyMs` (a slowloris) until the server closes the socket or
 * the text runs out; resolves with how many bytes were sent.
 */
export async function dribble(raw: RawSocket, text: string, everyMs: number): Promise<number> {
  let sent = 0;
  while (sent < text.length && !raw.isClosed()) {
    raw.socket.write(text[sent]!);
    sent++;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return sent;
}

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A GET on a fresh socket of its own (no agent, no keep-alive pool). */
export function httpGet(base: string, path: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { agent: false, headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** An upgrade the server answers with an HTTP status instead of a WebSocket: the status and headers. */
export function upgradeRefusal(url: string, options: ClientOptions = {}): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error(`${url} was accepted`));
    });
    ws.once('error', () => undefined);
  });
}

/** Real time, for Node's own HTTP timers (never for ours: those use a FakeClock). */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
