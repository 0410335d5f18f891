import { ERROR_CODES, type PsRole } from '@heliograph/protocol';
import { bump, newStats, type Findings } from './findings.js';
import { pick } from './model.js';
import { FUZZ_ROOMS, type FrameLimits, type NativeFrameSpec } from './native-frames.js';
import { NATIVE_ALLOWED_CLOSES, NativeFuzzConnection, PeerPool } from './native-conn.js';
import { PsFuzzConnection, PsPools } from './ps-conn.js';
import type { PsFrameSpec } from './ps-frames.js';
import { REST_ROOMS, renderRequest, type RestSpec } from './rest-requests.js';
import { mustAccept, renderToken, type TokenSpec } from './tokens.js';
import { tryUpgrade, type UpgradeSpec } from './upgrades.js';
import { httpCall, Sink } from './well-behaved.js';

/** A running node as the fuzzer sees it: addresses, and how to get credentials. */
export interface FuzzTarget {
  httpUrl: string;
  /** `ws://…/ws` */
  wsUrl: string;
  /** The dialect's ports, when it is on. */
  ps?: { playerUrl: string; streamerUrl: string; sfuUrl: string; maxMessageBytes: number };
  limits: FrameLimits;
  /** HS256 secret of the node, to sign tokens of every kind. */
  secret: string;
  /** The node's clock (ms), for `exp` and `iat`. */
  now: () => number;
  controlKeys?: { rw: string; ro: string };
}

export interface SurfaceOptions {
  findings: Findings;
  answerTimeoutMs: number;
}

/** A join token for `userId`, allowed everywhere. */
export function userToken(target: FuzzTarget, userId: string): string {
  return renderToken({ kind: 'valid', sub: userId }, target.secret, target.now());
}

/** Runs `tasks` with at most `limit` at a time. */
async function inParallel<T>(items: readonly T[], limit: number, task: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * The native endpoint: a few fuzz connections (users `fuzz-0`, `fuzz-1`…, two per user so that
 * sessions replace each other too) and a well-behaved sink peer in the main fuzz room.
 */
export class NativeSurface {
  readonly stats = newStats();
  readonly pool = new PeerPool();
  readonly #conns: Array<NativeFuzzConnection | undefined> = [];
  readonly #sink: Sink;

  constructor(
    private readonly target: FuzzTarget,
    private readonly opts: SurfaceOptions & { label?: string },
  ) {
    this.#sink = new Sink({
      wsUrl: target.wsUrl,
      token: async () => userToken(target, `${opts.label ?? 'n'}-sink`),
      room: FUZZ_ROOMS[0],
      timeoutMs: opts.answerTimeoutMs,
      findings: opts.findings,
      allowedCloses: NATIVE_ALLOWED_CLOSES,
    });
  }

  /** One batch per connection, all at once. */
  async round(batches: readonly NativeFrameSpec[][]): Promise<void> {
    const sinkId = await this.#sink.ensure();
    if (sinkId) {
      this.pool.add(sinkId);
    }
    await Promise.all(batches.map((batch, i) => this.#run(i, batch)));
  }

  async #run(i: number, batch: readonly NativeFrameSpec[]): Promise<void> {
    let conn = this.#conns[i];
    if (!conn?.open) {
      const label = `${this.opts.label ?? 'n'}${i}`;
      try {
        conn = await NativeFuzzConnection.open({
          url: this.target.wsUrl,
          token: userToken(this.target, `fuzz-${this.opts.label ?? 'n'}-${i >> 1}`),
          label,
          limits: this.target.limits,
          findings: this.opts.findings,
          stats: this.stats,
          pool: this.pool,
          answerTimeoutMs: this.opts.answerTimeoutMs,
          previous: conn?.resumable,
        });
      } catch (err) {
        this.opts.findings.add('native', (err as Error).message);
        return;
      }
      this.#conns[i] = conn;
    }
    await conn.runBatch(batch);
  }

  close(): void {
    this.#sink.close();
    for (const c of this.#conns) {
      c?.close();
    }
  }
}

/** The Pixel Streaming ports: one fuzz connection per role and slot, reopened when closed. */
export class PsSurface {
  readonly stats = newStats();
  readonly pools = new PsPools();
  readonly #conns = new Map<string, PsFuzzConnection>();

  constructor(
    private readonly target: FuzzTarget,
    private readonly opts: SurfaceOptions,
  ) {}

  /** Seeds the pools with the ids of the well-behaved streamer (so players subscribe to it too). */
  knowStreamer(id: string): void {
    this.pools.add(this.pools.streamers, id);
  }

  async round(batches: ReadonlyArray<{ role: PsRole; frames: PsFrameSpec[] }>): Promise<void> {
    await Promise.all(batches.map((b, i) => this.#run(`${b.role}${i}`, b.role, b.frames)));
  }

  async #run(slot: string, role: PsRole, frames: PsFrameSpec[]): Promise<void> {
    const ps = this.target.ps!;
    let conn = this.#conns.get(slot);
    if (!conn?.open) {
      try {
        conn = await PsFuzzConnection.open({
          url: role === 'player' ? ps.playerUrl : role === 'streamer' ? ps.streamerUrl : ps.sfuUrl,
          role,
          label: slot,
          maxMessageBytes: ps.maxMessageBytes,
          findings: this.opts.findings,
          stats: this.stats,
          pools: this.pools,
          answerTimeoutMs: this.opts.answerTimeoutMs,
        });
      } catch (err) {
        this.opts.findings.add('pixel-streaming', (err as Error).message);
        return;
      }
      this.#conns.set(slot, conn);
    }
    await conn.runBatch(frames);
  }

  close(): void {
    for (const c of this.#conns.values()) {
      c.close();
    }
  }
}

/**
 * REST: the control API (API keys) and the auth endpoints. Every answer must be below 500, and
 * every error a JSON body `{ error: { code, message } }` with a documented code.
 */
export class RestSurface {
  readonly stats = newStats();
  readonly pool = new PeerPool();
  readonly #sink: Sink;

  constructor(
    private readonly target: FuzzTarget,
    private readonly opts: SurfaceOptions & { concurrency: number },
  ) {
    this.#sink = new Sink({
      wsUrl: target.wsUrl,
      token: async () => userToken(target, 'rest-sink'),
      room: REST_ROOMS[0],
      timeoutMs: opts.answerTimeoutMs,
      findings: opts.findings,
      // The control API kicks it and closes its room: those are not closes of the socket.
      allowedCloses: NATIVE_ALLOWED_CLOSES,
    });
  }

  async round(specs: readonly RestSpec[]): Promise<void> {
    const sinkId = await this.#sink.ensure();
    if (sinkId) {
      this.pool.add(sinkId);
    }
    await inParallel(specs, this.opts.concurrency, (spec) => this.#one(spec));
  }

  async #one(spec: RestSpec): Promise<void> {
    const { findings } = this.opts;
    const keys = this.target.controlKeys ?? { rw: 'none', ro: 'none' };
    const req = renderRequest(spec, {
      resolve: (ref) => (ref.kind === 'peer' ? pick(this.pool.ids, ref.index, 'PR_none') : `no-${ref.kind}`),
      rwKey: keys.rw,
      roKey: keys.ro,
      token: (t) => renderToken(t, this.target.secret, this.target.now()),
    });
    const type = req.headers['content-type'] === undefined ? '' : ` (${req.headers['content-type']})`;
    const shown = `#${this.stats.sent} ${req.method} ${req.path.slice(0, 200)}${type}${req.body ? ` ${req.body.toString('utf8', 0, 300)}` : ''}`;
    this.stats.sent++;
    let res;
    try {
      // The node's body limits: 4 KiB for login and sign-up, 64 KiB elsewhere.
      const bodyLimit = req.path.startsWith('/v1/auth/') ? 4096 : 65_536;
      res = await httpCall(this.target.httpUrl, { ...req, bodyLimit }, this.opts.answerTimeoutMs);
    } catch (err) {
      if (req.method === 'HEAD' && /Data after `Connection: close`/.test((err as Error).message)) {
        // Headers over Node's limit on a HEAD: the node answered 431 with its error body, not
        // knowing the method (what it read of the request is gone). Answered, and counted apart.
        this.stats.answered++;
        bump(this.stats.outcomes, 'HEAD refused by the parser, with a body');
        return;
      }
      this.stats.unanswered++;
      findings.add('rest', `no answer: ${(err as Error).message}`, shown);
      return;
    }
    this.stats.answered++;
    bump(this.stats.outcomes, res.status);
    const problem = restProblem(req.method, req.path, res);
    if (problem) {
      findings.add('rest', problem, shown);
    } else if (
      res.status === 401 &&
      req.path === '/v1/lobby/rooms' &&
      typeof spec.caller === 'object' &&
      'token' in spec.caller &&
      mustAccept(spec.caller.token)
    ) {
      findings.add('rest', 'a valid token was refused', shown);
    }
  }

  close(): void {
    this.#sink.close();
  }
}

/** What is wrong with an answer, or undefined. */
export function restProblem(method: string, path: string, res: { status: number; headers: Record<string, unknown>; body: Buffer }): string | undefined {
  if (res.status >= 500) {
    return `answered ${res.status}: ${res.body.toString('utf8', 0, 200)}`;
  }
  if (method === 'HEAD' || res.status === 204 || res.status === 304) {
    return undefined;
  }
  const type = String(res.headers['content-type'] ?? '');
  const isJson = type.startsWith('application/json');
  if (res.status < 400) {
    // Documentation pages, metrics and the console's event streams are not JSON; everything else of the API is.
    if (!isJson) {
      const streams = /^\/v1\/(console\/stream|inspect)\b/.test(path) && type.startsWith('text/event-stream');
      return streams || /^\/(v1\/docs|metrics|$)/.test(path) || !path.startsWith('/v1')
        ? undefined
        : `answered ${res.status} with ${type || 'no content type'}`;
    }
    try {
      JSON.parse(res.body.toString('utf8'));
      return undefined;
    } catch {
      return `answered ${res.status} with a body that is not JSON`;
    }
  }
  let body: { error?: { code?: unknown; message?: unknown } };
  try {
    body = JSON.parse(res.body.toString('utf8')) as typeof body;
  } catch {
    return `answered ${res.status} with an error body that is not JSON (${type}): ${res.body.toString('utf8', 0, 100)}`;
  }
  const code = body.error?.code;
  if (typeof code !== 'string' || !(ERROR_CODES as string[]).includes(code) || typeof body.error?.message !== 'string') {
    return `answered ${res.status} with an error body without a documented code: ${res.body.toString('utf8', 0, 200)}`;
  }
  return undefined;
}

/** WebSocket upgrades with tokens of every kind and odd raw requests, on one port. */
export class UpgradeSurface {
  readonly stats = newStats();

  constructor(
    private readonly target: FuzzTarget,
    private readonly opts: SurfaceOptions & { concurrency: number; base: string; path: string; refusal: 'close4401' | 'http' },
  ) {}

  async round(specs: readonly UpgradeSpec[]): Promise<void> {
    await inParallel(specs, this.opts.concurrency, (spec) =>
      tryUpgrade(spec, {
        base: this.opts.base,
        path: this.opts.path,
        refusal: this.opts.refusal,
        findings: this.opts.findings,
        stats: this.stats,
        timeoutMs: this.opts.answerTimeoutMs,
        renderToken: (t: TokenSpec) => renderToken(t, this.target.secret, this.target.now()),
      }),
    );
  }
}
