import { request as httpRequest, Agent } from 'node:http';
import { WebSocket } from 'ws';
import type { Findings } from './findings.js';

type Json = Record<string, unknown>;

/** Resolves after `ms`; never rejects. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Rejects with `what` when `promise` takes longer than `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A plain, well-behaved JSON-over-WebSocket client (native protocol or dialect): it reads every
 * frame, lets callers wait for one that matches, and reports how it closed.
 */
export class PlainClient {
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #seen: Json[] = [];
  readonly #waiters: Array<{ match: (m: Json) => boolean; resolve: (m: Json) => void }> = [];
  #nextId = 1;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('error', () => {}); // the close code says what happened
    ws.on('message', (raw) => {
      const msg = JSON.parse(String(raw)) as Json;
      const i = this.#waiters.findIndex((w) => w.match(msg));
      if (i >= 0) {
        this.#waiters.splice(i, 1)[0]!.resolve(msg);
      } else {
        this.#seen.push(msg);
        if (this.#seen.length > 200) {
          this.#seen.shift();
        }
      }
    });
  }

  static connect(url: string): Promise<PlainClient> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new PlainClient(ws)));
      ws.once('error', reject);
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** The next frame that matches (one already received counts). */
  next(match: (m: Json) => boolean, ms: number, what: string): Promise<Json> {
    const i = this.#seen.findIndex(match);
    if (i >= 0) {
      return Promise.resolve(this.#seen.splice(i, 1)[0]!);
    }
    const waiting = new Promise<Json>((resolve) => this.#waiters.push({ match, resolve }));
    return within(waiting, ms, what);
  }

  send(message: Json): void {
    this.ws.send(JSON.stringify(message));
  }

  /** A native request; resolves with its response. */
  request(type: string, data: Json, ms: number): Promise<Json> {
    const id = `wb-${this.#nextId++}`;
    this.send({ id, type, data });
    return this.next((m) => m.id === id, ms, type);
  }

  /** A native request that must succeed; its data. */
  async ok(type: string, data: Json, ms: number): Promise<Json> {
    const res = await this.request(type, data, ms);
    if (res.ok !== true) {
      throw new Error(`${type} failed: ${JSON.stringify(res.error)}`);
    }
    return res.data as Json;
  }

  close(): void {
    if (this.open) {
      this.ws.close();
    }
  }
}

/** Native endpoint URL with a token. */
export function withToken(wsUrl: string, token: string): string {
  return `${wsUrl}?token=${encodeURIComponent(token)}`;
}

/** Opens a native connection and waits for `session.ready`. */
export async function nativeClient(wsUrl: string, token: string, ms: number): Promise<PlainClient> {
  const client = await within(PlainClient.connect(withToken(wsUrl, token)), ms, 'connect');
  await client.next((m) => m.type === 'session.ready', ms, 'session.ready');
  return client;
}

/**
 * Well-behaved clients exchanging messages in rounds, `pauseMs` apart, for as long as the fuzzer
 * runs. A round that fails (no answer in time, a close) ends the loop as a finding: bad input
 * elsewhere must not touch them.
 */
abstract class Canary {
  rounds = 0;
  #stopped = false;
  #loop: Promise<void> = Promise.resolve();
  /** Closed by `stop()`; set as soon as they are open, so that a start that fails later leaves none open. */
  protected clients: PlainClient[] = [];

  constructor(private readonly settings: { findings: Findings; pauseMs: number }) {}

  /** Starts the rounds; a failure is reported as `${what} failed after N rounds`. */
  protected loop(what: string, round: () => Promise<void>): void {
    this.#loop = this.#repeat(what, round);
  }

  async #repeat(what: string, round: () => Promise<void>): Promise<void> {
    const { pauseMs, findings } = this.settings;
    try {
      while (!this.#stopped) {
        await round();
        this.rounds++;
        await sleep(pauseMs);
      }
    } catch (err) {
      findings.add('canary', `${what} failed after ${this.rounds} rounds: ${(err as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
    for (const c of this.clients) {
      c.close();
    }
  }
}

/**
 * Two well-behaved peers in a room of their own, sending each other acknowledged signals in a
 * loop for as long as the fuzzer runs (no ack, no delivery, a close: a finding).
 */
export class NativeCanary extends Canary {
  constructor(private readonly opts: { wsUrl: string; tokens: [string, string]; room: string; findings: Findings; timeoutMs: number; pauseMs: number }) {
    super(opts);
  }

  async start(): Promise<void> {
    const { wsUrl, tokens, room, timeoutMs } = this.opts;
    const a = await nativeClient(wsUrl, tokens[0], timeoutMs);
    const b = await nativeClient(wsUrl, tokens[1], timeoutMs);
    this.clients = [a, b];
    const aId = ((await a.ok('room.join', { room }, timeoutMs)).peer as Json).id as string;
    const bId = ((await b.ok('room.join', { room }, timeoutMs)).peer as Json).id as string;
    const legs: Array<[PlainClient, PlainClient, string]> = [
      [a, b, bId],
      [b, a, aId],
    ];
    this.loop('native canary pair', async () => {
      for (const [from, to, toId] of legs) {
        const n = this.rounds;
        await from.ok('signal.send', { to: toId, signal: { canary: n } }, timeoutMs);
        await to.next(
          (m) => m.type === 'signal' && (m.data as Json).signal !== undefined && ((m.data as Json).signal as Json).canary === n,
          timeoutMs,
          'canary signal',
        );
      }
    });
  }
}

/**
 * A Pixel Streaming streamer and a player subscribed to it, relaying ICE candidates both ways in a
 * loop. The dialect's "other rooms keep working".
 */
export class PsCanary extends Canary {
  constructor(private readonly opts: { streamerUrl: string; playerUrl: string; streamerId: string; findings: Findings; timeoutMs: number; pauseMs: number }) {
    super(opts);
  }

  async start(): Promise<void> {
    const { streamerUrl, playerUrl, streamerId, timeoutMs } = this.opts;
    const streamer = await within(PlainClient.connect(streamerUrl), timeoutMs, 'canary streamer');
    await streamer.next((m) => m.type === 'config', timeoutMs, 'streamer config');
    streamer.send({ type: 'endpointId', id: streamerId, protocolVersion: '1.0.0' });
    await streamer.next((m) => m.type === 'endpointIdConfirm', timeoutMs, 'endpointIdConfirm');
    const player = await within(PlainClient.connect(playerUrl), timeoutMs, 'canary player');
    this.clients = [streamer, player];
    await player.next((m) => m.type === 'config', timeoutMs, 'player config');
    player.send({ type: 'subscribe', streamerId });
    const connected = await streamer.next((m) => m.type === 'playerConnected', timeoutMs, 'playerConnected');
    const playerId = connected.playerId as string;
    const keepalive = (m: Json) => {
      if (m.type === 'ping') {
        player.send({ type: 'pong', time: m.time });
      }
      return false;
    };
    this.loop('pixel streaming canary', async () => {
      const n = `canary-${this.rounds}`;
      player.send({ type: 'iceCandidate', candidate: { candidate: `p ${n}` } });
      await streamer.next(
        (m) => m.type === 'iceCandidate' && m.playerId === playerId && (m.candidate as Json)?.candidate === `p ${n}`,
        timeoutMs,
        'canary player→streamer',
      );
      streamer.send({ type: 'iceCandidate', playerId, candidate: { candidate: `s ${n}` } });
      await player.next(
        (m) => keepalive(m) || (m.type === 'iceCandidate' && (m.candidate as Json)?.candidate === `s ${n}`),
        timeoutMs,
        'canary streamer→player',
      );
    });
  }
}

/**
 * A well-behaved peer waiting in a fuzz room: fuzzers signal it and send it data, which it reads.
 * It comes back (reconnects, rejoins) when the fuzzers' doings remove it; how it left must be a
 * documented close.
 */
export class Sink {
  peerId: string | undefined;
  #client: PlainClient | undefined;

  constructor(
    private readonly opts: {
      wsUrl: string;
      token: () => Promise<string>;
      room: string;
      timeoutMs: number;
      findings: Findings;
      allowedCloses: ReadonlySet<number>;
    },
  ) {}

  /** (Re)connects and (re)joins when needed; returns the sink's peer id. */
  async ensure(): Promise<string | undefined> {
    const { wsUrl, token, room, timeoutMs, findings, allowedCloses } = this.opts;
    if (this.#client && !this.#client.open) {
      const { code } = await this.#client.closed;
      if (!allowedCloses.has(code)) {
        findings.add('sink', `the well-behaved sink peer was closed with ${code}`);
      }
      this.#client = undefined;
    }
    try {
      if (!this.#client) {
        this.#client = await nativeClient(wsUrl, await token(), timeoutMs);
        this.peerId = undefined;
      }
      // Joining again answers ALREADY_IN_ROOM while it is still in: cheap, and it notices kicks.
      const res = await this.#client.request('room.join', { room }, timeoutMs);
      if (res.ok === true) {
        this.peerId = ((res.data as Json).peer as Json).id as string;
      }
    } catch (err) {
      findings.add('sink', `the sink peer could not (re)join ${room}: ${(err as Error).message}`);
    }
    return this.peerId;
  }

  close(): void {
    this.#client?.close();
  }
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * One HTTP request with full control of method, path, headers and body bytes. A body over
 * `bodyLimit` waits for the node's early answer (413) before it is sent: the node answers it from
 * the headers and closes, and a body still arriving then makes the kernel reset the connection,
 * which can discard the answer before the client reads it (TCP's reset problem; see the report of
 * the long run). Sent after `timeoutMs / 2` if no answer came.
 */
export function httpCall(
  base: string,
  req: { method: string; path: string; headers?: Record<string, string>; body?: Buffer; bodyLimit?: number },
  timeoutMs: number,
): Promise<HttpAnswer> {
  return httpOnce(base, req, timeoutMs, true).catch((err: Error & { keepAliveRace?: boolean }) => {
    // A kept-alive socket the node closed (idle for `http.keepAliveTimeoutMs`) just as the
    // request went out on it: the request never reached the node. Once more, on a new connection,
    // as browsers do (and Node's docs advise: `req.reusedSocket`).
    if (err.keepAliveRace) {
      return httpOnce(base, req, timeoutMs, false).catch((again: Error) => {
        throw new Error(`${again.message} (sent twice: a reused keep-alive socket, then a new one)`);
      });
    }
    throw err;
  });
}

function httpOnce(
  base: string,
  req: { method: string; path: string; headers?: Record<string, string>; body?: Buffer; bodyLimit?: number },
  timeoutMs: number,
  reuse: boolean,
): Promise<HttpAnswer> {
  const url = new URL(base);
  // Framed always: Node's client sends a GET or DELETE body unframed, as bytes after the request.
  const headers = req.body ? { ...req.headers, 'content-length': String(req.body.length) } : req.headers;
  const early = req.body !== undefined && req.bodyLimit !== undefined && req.body.length > req.bodyLimit;
  return new Promise((resolve, reject) => {
    const r = httpRequest(
      // A connection of its own when the body may never be sent: nothing else may follow on it.
      { host: url.hostname, port: url.port, method: req.method, path: req.path, headers, agent: early || !reuse ? false : agent, timeout: timeoutMs },
      (res) => {
        // An event stream (the console's figures, the inspector) never ends: its headers are the
        // answer. Closing it ends what it started (an inspector capture).
        if (res.statusCode === 200 && String(res.headers['content-type']).startsWith('text/event-stream')) {
          resolve({ status: 200, headers: res.headers, body: Buffer.alloc(0) });
          r.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
          if (early) {
            r.destroy();
          }
        });
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    r.on('error', (err: NodeJS.ErrnoException & { keepAliveRace?: boolean }) => {
      err.keepAliveRace = r.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
      reject(err);
    });
    if (early) {
      r.flushHeaders();
      const later = setTimeout(() => r.end(req.body), timeoutMs / 2);
      r.once('response', () => clearTimeout(later));
    } else {
      r.end(req.body);
    }
  });
}

/** The node is up: `/healthz` answers, and a fresh client can connect, join a fresh room and ping. */
export async function probe(httpUrl: string, wsUrl: string, token: string, room: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const health = await httpCall(httpUrl, { method: 'GET', path: '/healthz' }, timeoutMs);
    if (health.status !== 200 || (JSON.parse(health.body.toString()) as Json).status !== 'ok') {
      return `/healthz answered ${health.status} ${health.body.toString().slice(0, 100)}`;
    }
    const client = await nativeClient(wsUrl, token, timeoutMs);
    try {
      await client.ok('room.join', { room }, timeoutMs);
      await client.ok('ping', {}, timeoutMs);
    } finally {
      client.close();
    }
    return undefined;
  } catch (err) {
    return `the node did not pass the liveness probe: ${(err as Error).message}`;
  }
}
