import { ERROR_CODES } from '@heliograph/protocol';
import { WebSocket } from 'ws';
import { bump, type Findings, type SurfaceStats } from './findings.js';
import { FuzzSocket, parseFrame, remember } from './fuzz-socket.js';
import { Ref, pick } from './model.js';
import { encodeNative, type FrameLimits, type NativeFrameSpec, type WireFrame } from './native-frames.js';
import { NATIVE_ALLOWED_CLOSES, expectationFor, idKey } from './native-expect.js';

export { NATIVE_ALLOWED_CLOSES };

/** Peer ids seen lately, shared by the connections of one run (the targets of `to`). */
export class PeerPool {
  readonly ids: string[] = [];

  add(id: string): void {
    remember(this.ids, id);
  }
}

export interface NativeConnOptions {
  url: string;
  token: string;
  label: string;
  limits: FrameLimits;
  findings: Findings;
  stats: SurfaceStats;
  pool: PeerPool;
  /** How long the server has to answer a batch before the rest counts as unanswered. */
  answerTimeoutMs: number;
  /** The session of the connection this one replaces, for `session.resume`. */
  previous?: ResumableSession | undefined;
}

/** What a successor connection needs to carry on: the session, and the ids used so far. */
export interface ResumableSession {
  session: string | undefined;
  secret: string | undefined;
  /** The last event the old connection processed. */
  lastSeq: number;
  /** Ids never repeat within a session (the server answers a repeated id from memory). */
  nextId: number;
  /** The fuzzer cut the connection itself (no close frame): the session is resumable. */
  dropped: boolean;
  /** Requests whose answers the cut lost: re-sent, same ids, after the resume. */
  unanswered: Buffer[];
}

/**
 * A native-protocol connection driven by the fuzzer. It knows what the server owes for every
 * frame it sent and checks each frame it receives: well-formed, a known error code, no INTERNAL,
 * exactly one answer per frame, events in sequence.
 */
export class NativeFuzzConnection extends FuzzSocket {
  peerId: string | undefined;
  /** This connection's session credentials (from `session.ready`, or the resumed session's). */
  credentials: { session: string; secret: string } | undefined;
  readonly #expected = new Map<string, number>();
  /** The frame behind each outstanding id, for reports; and its type, to follow joins. */
  readonly #sent = new Map<string, { frame: Buffer; type: unknown }>();
  #outstanding = 0;
  #nextId: number;
  #lastSeq = 0;
  /** Set when the fuzzer cut this connection: what was unanswered then. */
  #cut: Buffer[] | undefined;
  /** How far before its last processed event the successor resumes. */
  #rewind = 0;
  /** The id of the first request on this connection: the only one that can resume. */
  #firstKey: string | undefined;
  /** A cut predecessor to resume before the first batch. */
  #resumeFrom: ResumableSession | undefined;

  private constructor(
    ws: WebSocket,
    readonly opts: NativeConnOptions,
  ) {
    super(ws, opts.answerTimeoutMs);
    this.#nextId = opts.previous?.nextId ?? 0;
    this.#resumeFrom = opts.previous?.dropped ? opts.previous : undefined;
    ws.on('message', (raw: Buffer, isBinary: boolean) => this.#onFrame(raw, isBinary));
  }

  /** Opens and waits for `session.ready`. */
  static async open(opts: NativeConnOptions): Promise<NativeFuzzConnection> {
    const url = `${opts.url}?token=${encodeURIComponent(opts.token)}`;
    const ws = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
    // Built first: its frame handler must see `session.ready` (the credentials) before `ready` does.
    const conn = new NativeFuzzConnection(ws, opts);
    await FuzzSocket.ready(ws, opts.label, 'message');
    return conn;
  }

  /**
   * Sends the frames one after another without waiting, then waits for every answer they are
   * owed (or an allowed close). Anything else becomes a finding.
   */
  async runBatch(specs: readonly NativeFrameSpec[]): Promise<void> {
    const { label } = this.opts;
    if (this.#resumeFrom) {
      await this.#resume(this.#resumeFrom);
      this.#resumeFrom = undefined;
    }
    let closing: { code: number; frame: Buffer } | undefined;
    for (const spec of specs) {
      if (!this.open || closing) {
        break;
      }
      if (spec.kind === 'drop') {
        this.#drop(spec.rewind);
        break;
      }
      const ownId = `${label}.${this.#nextId++}`;
      closing = this.#send(encodeNative(spec, (ref) => this.#resolve(ref, ownId)));
    }
    await this.#settle(closing);
    this.#account(closing);
  }

  /**
   * Resumes the session of a connection the fuzzer cut, then re-sends what the cut left
   * unanswered with the same ids: each must be answered exactly once (from the server's memory
   * of the session's answers, or by running it now), never twice.
   */
  async #resume(from: ResumableSession): Promise<void> {
    const data = { session: from.session ?? 'none', secret: from.secret ?? 'none', lastSeq: from.lastSeq };
    this.#send({ data: Buffer.from(JSON.stringify({ id: `${this.opts.label}.${this.#nextId++}`, type: 'session.resume', data })), binary: false });
    await this.#settle(undefined);
    for (const frame of from.unanswered) {
      if (this.open) {
        this.#send({ data: frame, binary: false });
      }
    }
  }

  /** Registers what the server owes for `frame` and sends it; the close it must cause, if any. */
  #send(frame: WireFrame): { code: number; frame: Buffer } | undefined {
    const expect = expectationFor(frame, this.opts.limits);
    this.opts.stats.sent++;
    if ('close' in expect) {
      this.ws.send(frame.data, { binary: frame.binary });
      return { code: expect.close, frame: frame.data };
    }
    const key = idKey(expect.answer);
    this.#firstKey ??= key;
    this.#expected.set(key, (this.#expected.get(key) ?? 0) + 1);
    this.#outstanding++;
    this.#sent.set(key, { frame: frame.data, type: frame.binary ? undefined : typeOf(frame.data) });
    this.ws.send(frame.data, { binary: frame.binary });
    return undefined;
  }

  /** Cuts the connection without a close frame, as a network would: its session stays resumable. */
  #drop(rewind: number): void {
    this.#cut = [...this.#expected].filter(([key, n]) => n > 0 && key !== 'null').map(([key]) => this.#sent.get(key)!.frame);
    this.#rewind = rewind;
    this.ws.terminate();
  }

  /** After a batch: closes, answers still owed, and what they mean. */
  #account(closing: { code: number; frame: Buffer } | undefined): void {
    const { stats, findings, label } = this.opts;
    if (this.#cut) {
      bump(stats.closes, 'cut by the fuzzer');
      stats.excused += this.#outstanding;
    } else if (this.closed) {
      const { code } = this.closed;
      bump(stats.closes, code);
      if (!NATIVE_ALLOWED_CLOSES.has(code)) {
        findings.add(
          'native',
          `${label}: closed with ${code} (${this.closed.reason}), not an allowed close code`,
          closing?.frame ?? this.#anyOutstandingFrame(),
        );
      }
      stats.excused += this.#outstanding;
    } else if (closing) {
      findings.add('native', `${label}: no close ${closing.code} within ${this.opts.answerTimeoutMs} ms`, closing.frame);
    }
    if (this.#outstanding > 0 && !this.closed) {
      stats.unanswered += this.#outstanding;
      const keys = [...this.#expected].filter(([, n]) => n > 0).map(([k]) => k);
      findings.add(
        'native',
        `${label}: ${this.#outstanding} frame(s) unanswered after ${this.opts.answerTimeoutMs} ms (ids ${keys.slice(0, 5).join(', ')})`,
        this.#anyOutstandingFrame(),
      );
    }
    this.#expected.clear();
    this.#sent.clear();
    this.#outstanding = 0;
  }

  /** What a successor needs to carry on this connection's session. */
  get resumable(): ResumableSession {
    return {
      session: this.credentials?.session,
      secret: this.credentials?.secret,
      lastSeq: Math.max(0, this.#lastSeq - this.#rewind),
      nextId: this.#nextId,
      dropped: this.#cut !== undefined,
      unanswered: this.#cut ?? [],
    };
  }

  #anyOutstandingFrame(): Buffer | undefined {
    const key = [...this.#expected].find(([, n]) => n > 0)?.[0];
    return key === undefined ? undefined : this.#sent.get(key)?.frame;
  }

  /** Waits for the answers owed, or for the close `closing` must cause. */
  #settle(closing: { code: number } | undefined): Promise<void> {
    return this.settle(() => this.#outstanding > 0 || closing !== undefined);
  }

  #resolve(ref: Ref, ownId: string): unknown {
    switch (ref.kind) {
      case 'id':
        return ownId;
      case 'peer':
        return pick(this.opts.pool.ids, ref.index, 'PR_none');
      case 'session':
      case 'secret':
        // The session this connection replaces. Not another live connection's: the server would
        // hand its session over and close that socket without a word (documented), a 1006.
        return this.opts.previous?.[ref.kind] ?? `no-${ref.kind}`;
      case 'lastSeq':
        return this.opts.previous?.lastSeq ?? ref.index;
      default:
        return `no-${ref.kind}`;
    }
  }

  #onFrame(raw: Buffer, isBinary: boolean): void {
    const { findings, stats, label } = this.opts;
    const frame = parseFrame(raw, findings, 'native', label);
    if (frame === undefined) {
      return;
    }
    if (isBinary) {
      findings.add('native', `${label}: the server sent a binary frame`, raw);
    }
    if ('seq' in frame) {
      this.#onEvent(frame, raw);
      return;
    }
    if (!('id' in frame) || typeof frame.ok !== 'boolean') {
      findings.add('native', `${label}: a frame that is neither a response nor an event`, raw);
      return;
    }
    const key = idKey(frame.id);
    const owed = this.#expected.get(key) ?? 0;
    if (owed <= 0) {
      findings.add('native', `${label}: an answer nobody asked for, or a second answer (id ${key})`, raw);
      return;
    }
    this.#expected.set(key, owed - 1);
    this.#outstanding--;
    stats.answered++;
    this.#checkAnswer(frame, key, raw);
    if (this.#outstanding === 0) {
      this.wake();
    }
  }

  #checkAnswer(frame: Record<string, unknown>, key: string, raw: Buffer): void {
    const { findings, stats, label, pool } = this.opts;
    const sent = this.#sent.get(key);
    if (frame.ok === true) {
      bump(stats.outcomes, 'ok');
      const data = frame.data as { peer?: { id?: unknown } } | undefined;
      if (sent?.type === 'room.join' && typeof data?.peer?.id === 'string') {
        this.peerId = data.peer.id;
        pool.add(data.peer.id);
      } else if (sent?.type === 'room.leave') {
        this.peerId = undefined;
      } else if (sent?.type === 'session.resume' && key === this.#firstKey) {
        // Only the first request resumes; a re-sent one is answered from the session's memory.
        // The resumed session's events follow, numbered on from the `lastSeq` that was asked for.
        bump(stats.outcomes, 'ok session.resume');
        const asked = resumeRequest(sent.frame);
        this.#lastSeq = asked.lastSeq;
        this.credentials = { session: asked.session, secret: asked.secret };
      }
      return;
    }
    const error = frame.error as { code?: unknown; message?: unknown } | undefined;
    const code = typeof error?.code === 'string' ? error.code : undefined;
    bump(stats.outcomes, code ?? 'malformed');
    if (!code || !(ERROR_CODES as string[]).includes(code) || typeof error?.message !== 'string') {
      findings.add('native', `${label}: an error answer without a documented code and message: ${raw.toString('utf8', 0, 300)}`, sent?.frame);
    } else if (code === 'INTERNAL') {
      findings.add('native', `${label}: INTERNAL (a handler failed)`, sent?.frame);
    }
  }

  #onEvent(frame: Record<string, unknown>, raw: Buffer): void {
    const { findings, label, pool } = this.opts;
    if (frame.seq !== this.#lastSeq + 1) {
      findings.add('native', `${label}: event seq ${String(frame.seq)} after ${this.#lastSeq}`, raw);
    }
    this.#lastSeq = typeof frame.seq === 'number' ? frame.seq : this.#lastSeq;
    const data = frame.data as { peer?: { id?: unknown }; resume?: { session?: unknown; secret?: unknown } } | undefined;
    if (frame.type === 'peer.joined' && typeof data?.peer?.id === 'string') {
      pool.add(data.peer.id);
    }
    const resume = data?.resume;
    if (frame.type === 'session.ready' && typeof resume?.session === 'string' && typeof resume.secret === 'string') {
      this.credentials = { session: resume.session, secret: resume.secret };
    }
    if (frame.type === 'room.kicked' || frame.type === 'room.closed') {
      this.peerId = undefined;
    }
  }
}

/** `data` of a `session.resume` the server accepted (so it parses, and has these fields). */
function resumeRequest(frame: Buffer): { session: string; secret: string; lastSeq: number } {
  return (JSON.parse(frame.toString('utf8')) as { data: { session: string; secret: string; lastSeq: number } }).data;
}

/** The `type` of a request frame, without trusting it to parse. */
function typeOf(data: Buffer): unknown {
  try {
    return (JSON.parse(data.toString('utf8')) as { type?: unknown }).type;
  } catch {
    return undefined;
  }
}
