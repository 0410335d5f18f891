import { isUtf8 } from 'node:buffer';
import { PS_CLOSE_CODES, type PsRole } from '@heliograph/protocol';
import { WebSocket } from 'ws';
import { bump, type Findings, type SurfaceStats } from './findings.js';
import { FuzzSocket, parseFrame, remember } from './fuzz-socket.js';
import { pick, type Ref } from './model.js';
import { encodePs, type PsFrameSpec } from './ps-frames.js';

/**
 * Closes of the dialect documented in docs/pixel-streaming.md: 1005 (closed without a code: the
 * streamer left, no streamer to auto-subscribe to), 1001, 1007, 1008, 1009, 4409, 4508; and for
 * subscribers (players, and SFUs, which subscribe upstream) 1011, kicked by their streamer. 1006,
 * and 1011 to a streamer, are findings.
 */
export function psCloseAllowed(role: PsRole, code: number): boolean {
  const always = [1005, 1001, 1007, PS_CLOSE_CODES.POLICY_VIOLATION, 1009, PS_CLOSE_CODES.REPLACED, PS_CLOSE_CODES.SLOW_CONSUMER];
  return always.includes(code) || (role !== 'streamer' && code === PS_CLOSE_CODES.KICKED);
}

/** Player and streamer ids seen lately by the dialect connections of one run. */
export class PsPools {
  readonly players: string[] = [];
  readonly streamers: string[] = [];

  add(list: string[], id: unknown): void {
    if (typeof id === 'string') {
      remember(list, id);
    }
  }
}

export interface PsConnOptions {
  url: string;
  role: PsRole;
  label: string;
  maxMessageBytes: number;
  findings: Findings;
  stats: SurfaceStats;
  pools: PsPools;
  answerTimeoutMs: number;
}

let barrierSeq = 0;

/**
 * A Pixel Streaming connection driven by the fuzzer. The dialect answers little, so each batch
 * ends with a barrier: a `ping` whose `pong` must come back (frames are handled in order), unless
 * the server closed the socket with a documented code. Everything the server sends must be a JSON
 * object with a `type`.
 */
export class PsFuzzConnection extends FuzzSocket {
  #barrier: number | undefined;

  private constructor(
    ws: WebSocket,
    readonly opts: PsConnOptions,
  ) {
    super(ws, opts.answerTimeoutMs);
    ws.on('message', (raw: Buffer) => this.#onFrame(raw));
  }

  static async open(opts: PsConnOptions): Promise<PsFuzzConnection> {
    const ws = new WebSocket(opts.url, { maxPayload: 64 * 1024 * 1024 });
    const conn = new PsFuzzConnection(ws, opts);
    await FuzzSocket.ready(ws, opts.label, 'open');
    return conn;
  }

  async runBatch(specs: readonly PsFrameSpec[]): Promise<void> {
    const { stats, findings, label, role, maxMessageBytes } = this.opts;
    let closing: { code: number; frame: Buffer } | undefined;
    let last: Buffer | undefined;
    for (const spec of specs) {
      if (!this.open || closing) {
        break;
      }
      const frame = encodePs(spec, (ref) => this.#resolve(ref));
      stats.sent++;
      if (frame.data.length > maxMessageBytes) {
        closing = { code: 1009, frame: frame.data };
      } else if (!frame.binary && !isUtf8(frame.data)) {
        closing = { code: 1007, frame: frame.data };
      }
      last = frame.data;
      this.ws.send(frame.data, { binary: frame.binary });
    }
    if (this.open && !closing) {
      this.#barrier = 1e12 + ++barrierSeq;
      this.ws.send(JSON.stringify({ type: 'ping', time: this.#barrier }));
    }
    await this.settle(() => this.#barrier !== undefined || closing !== undefined);
    if (this.closed) {
      bump(stats.closes, this.closed.code);
      if (!psCloseAllowed(role, this.closed.code)) {
        findings.add(
          'pixel-streaming',
          `${label}: closed with ${this.closed.code} (${this.closed.reason}), not a documented close for a ${role}`,
          closing?.frame ?? last,
        );
      }
      if (this.#barrier !== undefined) {
        stats.excused++;
      }
    } else if (closing) {
      findings.add('pixel-streaming', `${label}: no close ${closing.code} within ${this.opts.answerTimeoutMs} ms`, closing.frame);
    } else if (this.#barrier !== undefined) {
      stats.unanswered++;
      findings.add('pixel-streaming', `${label}: no pong to the barrier ping within ${this.opts.answerTimeoutMs} ms after a batch of ${specs.length}`, last);
    }
    this.#barrier = undefined;
  }

  #resolve(ref: Ref): unknown {
    const { pools } = this.opts;
    if (ref.kind === 'player') {
      return pick(pools.players, ref.index, 'Player0');
    }
    if (ref.kind === 'streamer') {
      return pick(pools.streamers, ref.index, 'DefaultStreamer');
    }
    return `no-${ref.kind}`;
  }

  #onFrame(raw: Buffer): void {
    const { findings, stats, label, pools } = this.opts;
    const msg = parseFrame(raw, findings, 'pixel-streaming', label);
    if (msg === undefined) {
      return;
    }
    if (typeof msg !== 'object' || msg === null || typeof msg.type !== 'string') {
      findings.add('pixel-streaming', `${label}: the server sent a message without a type`, raw);
      return;
    }
    bump(stats.outcomes, msg.type);
    switch (msg.type) {
      case 'pong':
        if (msg.time === this.#barrier) {
          this.#barrier = undefined;
          stats.answered++;
          this.wake();
        }
        break;
      case 'ping':
        // A real player answers the server's keepalive.
        this.ws.send(JSON.stringify({ type: 'pong', time: msg.time }));
        break;
      case 'playerConnected':
        pools.add(pools.players, msg.playerId);
        break;
      case 'endpointIdConfirm':
        pools.add(pools.streamers, msg.committedId);
        break;
      case 'streamerList':
        for (const id of Array.isArray(msg.ids) ? msg.ids.slice(0, 4) : []) {
          pools.add(pools.streamers, id);
        }
        break;
    }
  }
}
