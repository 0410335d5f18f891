import { WebSocket, type ClientOptions } from 'ws';
import { FakeClock } from '@heliograph/common';
import type { Heliograph } from '../../src/app.js';
import { startServer, type TestServer } from '../helpers/server.js';
import type { Config } from '../../src/config/schema.js';

export type PsMessage = { type: string } & Record<string, unknown>;

export interface PsClosed {
  code: number;
  reason: string;
}

/**
 * What a test peer received, read in arrival order: exact expectations message by message, and a
 * ping barrier that proves nothing else arrived. `PsClient` (raw `ws`) and `EpicPeer` (Epic's
 * own library) share it.
 */
export abstract class PsInbox {
  /** Every message received, in order. */
  readonly log: PsMessage[] = [];
  #read = 0;
  #wake: (() => void) | undefined;

  constructor(readonly name: string) {}

  protected received(message: PsMessage): void {
    this.log.push(message);
    this.#wake?.();
  }

  protected woken(): void {
    this.#wake?.();
  }

  abstract get isClosed(): boolean;
  /** Sends `{type:'ping', time}` the peer's own way. */
  protected abstract sendPing(time: number): void;

  /** The next unread message, waiting for it; fails if the socket closes first. */
  async next(timeoutMs = 5000): Promise<PsMessage> {
    const deadline = Date.now() + timeoutMs;
    while (this.#read >= this.log.length) {
      if (this.isClosed) {
        throw new Error(`${this.name}: closed while waiting for a message`);
      }
      if (Date.now() > deadline) {
        throw new Error(`${this.name}: no message within ${timeoutMs} ms`);
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.log[this.#read++]!;
  }

  /** The next message must be exactly `expected` (all fields, nothing more). */
  async expect(expected: PsMessage): Promise<PsMessage> {
    const got = await this.next();
    if (JSON.stringify(sortKeys(got)) !== JSON.stringify(sortKeys(expected))) {
      throw new Error(`${this.name}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
    }
    return got;
  }

  /** The next message must have `type`; returns it for further checks. */
  async expectType(type: string): Promise<PsMessage> {
    const got = await this.next();
    if (got.type !== type) {
      throw new Error(`${this.name}: expected a ${type}, got ${JSON.stringify(got)}`);
    }
    return got;
  }

  /**
   * Asserts that nothing else arrived: a ping goes out and its pong must be the next message.
   * The server handles this socket's frames in order, so anything caused earlier arrives first.
   */
  async expectQuiet(): Promise<void> {
    const time = 1e12 + ++barrierSeq;
    this.sendPing(time);
    await this.expect({ type: 'pong', time });
  }
}

let barrierSeq = 0;

/**
 * A raw Pixel Streaming peer for conformance tests, in the style of Epic's SS_Test: real `ws`,
 * every frame recorded, and expectations checked message by message in arrival order.
 */
export class PsClient extends PsInbox {
  readonly closed: Promise<PsClosed>;

  private constructor(
    readonly ws: WebSocket,
    name: string,
  ) {
    super(name);
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (raw) => this.received(JSON.parse(String(raw)) as PsMessage));
    ws.once('close', () => this.woken());
  }

  static connect(url: string, name = url, options: ClientOptions = {}): Promise<PsClient> {
    const ws = new WebSocket(url, options);
    const client = new PsClient(ws, name);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  /** The HTTP status an upgrade is refused with. */
  static refusal(url: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.once('open', () => reject(new Error(`${url} was accepted`)));
      ws.once('error', () => {});
    });
  }

  get isClosed(): boolean {
    return this.ws.readyState === WebSocket.CLOSED;
  }

  protected sendPing(time: number): void {
    this.send({ type: 'ping', time });
  }

  send(message: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(message));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** Closes with a code of our own choosing, or hard-kills the TCP connection. */
  close(): void {
    this.ws.close();
  }
}

export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(sortKeys);
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}

export interface PsTestServer {
  server: TestServer;
  app: Heliograph;
  clock: FakeClock;
  playerUrl: string;
  streamerUrl: string;
  sfuUrl: string;
  close(): Promise<void>;
}

type PsOverrides = Partial<Omit<Config['pixelStreaming'], 'auth'>> & { auth?: Partial<Config['pixelStreaming']['auth']> };

/** A Heliograph node with the dialect on, every port picked by the OS, and fake time. */
export async function startPsServer(ps: PsOverrides = {}, overrides: Record<string, unknown> = {}): Promise<PsTestServer> {
  const clock = new FakeClock(Date.now());
  const server = await startServer(
    { ...overrides, pixelStreaming: { enabled: true, streamerPort: 0, sfuPort: 0, ...ps } } as Parameters<typeof startServer>[0],
    { clock },
  );
  const ports = server.app.pixelStreaming!.ports;
  const wsBase = server.url.replace(/^http/, 'ws');
  const host = wsBase.replace(/:\d+$/, '');
  return {
    server,
    app: server.app,
    clock,
    playerUrl: `${wsBase}/`,
    streamerUrl: `${host}:${ports.streamer}/`,
    sfuUrl: `${host}:${ports.sfu}/`,
    close: () => server.close(),
  };
}

/** Connects a streamer and completes §3.1: identify, config, endpointId, endpointIdConfirm. */
export async function connectStreamer(ps: PsTestServer, id: string, committed = id): Promise<PsClient> {
  const streamer = await PsClient.connect(ps.streamerUrl, `streamer ${id}`);
  await streamer.expect({ type: 'identify' });
  await streamer.expectType('config');
  streamer.send({ type: 'endpointId', id, protocolVersion: '1.0.0' });
  await streamer.expect({ type: 'endpointIdConfirm', committedId: committed });
  return streamer;
}

/** Connects a player and reads its `config`. */
export async function connectPlayer(ps: PsTestServer, query = ''): Promise<PsClient> {
  const player = await PsClient.connect(`${ps.playerUrl}${query}`, `player ${query}`);
  await player.expectType('config');
  return player;
}

/** A player subscribed to `streamerId`; returns it with the id the streamer saw. */
export async function subscribedPlayer(ps: PsTestServer, streamer: PsClient, streamerId: string): Promise<{ player: PsClient; playerId: string }> {
  const player = await connectPlayer(ps);
  player.send({ type: 'subscribe', streamerId });
  const connected = await streamer.expectType('playerConnected');
  return { player, playerId: connected.playerId as string };
}
