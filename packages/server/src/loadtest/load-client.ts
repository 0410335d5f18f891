import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';

/** One client connection of a load generator, whatever the server. */
export interface Conn {
  /** The id others address this client by. */
  id: string;
  send(to: string, signalJson: string): void;
  close(): void;
}

/** Called with each signal's JSON text as it was sent. */
export type OnSignal = (signalJson: string) => void;

/** Acknowledgements its connections have read so far, for servers that acknowledge. */
export interface AckCount {
  ok: number;
  failed: number;
  /** Failed acks by error code (Heliograph). */
  codes?: Record<string, number>;
}

export interface TargetClient {
  connect(name: string, room: string, onSignal: OnSignal): Promise<Conn>;
  /** Heliograph only: the acks read so far on all of this client's connections. */
  acks?(): AckCount;
}

/** A join that the server refused or that failed on the way: its error code when there is one. */
export class JoinError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'JoinError';
  }
}

export interface HeliographTargetOptions {
  /** `ws://host:port/ws`. */
  wsUrl: string;
  /** A join token for the user `name` in `room`. */
  token(name: string, room: string): Promise<string>;
}

const OK_TRUE = Buffer.from('"ok":true');

/**
 * Heliograph's native protocol as a load generator speaks it: token, session.ready, room.join,
 * acked signal.send. Frames are written and read with as little work as possible, so that the
 * generator is not what is measured.
 */
export function heliographTarget(options: HeliographTargetOptions): TargetClient {
  let nextId = 1;
  const acks: AckCount & { codes: Record<string, number> } = { ok: 0, failed: 0, codes: {} };
  return {
    acks: () => ({ ok: acks.ok, failed: acks.failed, codes: { ...acks.codes } }),
    async connect(name, room, onSignal) {
      const token = await options.token(name, room);
      // Listen before 'open': the first frame can arrive in the same read as the handshake.
      const ws = new WebSocket(`${options.wsUrl}?token=${encodeURIComponent(token)}`, { perMessageDeflate: false });
      const peerId = await new Promise<string>((resolve, reject) => {
        ws.once('error', (err) => reject(new JoinError('CONNECT', err.message)));
        ws.once('close', (code, reason) => reject(new JoinError(`CLOSE_${code}`, reason.toString() || `closed with ${code}`)));
        ws.on('message', function first(raw: Buffer) {
          const frame = JSON.parse(raw.toString()) as {
            type?: string;
            id?: number;
            ok?: boolean;
            data?: { peer?: { id: string } };
            error?: { code: string; message: string };
          };
          if (frame.type === 'session.ready') {
            ws.send(JSON.stringify({ id: 0, type: 'room.join', data: { room } }));
          } else if (frame.id === 0) {
            ws.off('message', first);
            if (frame.ok && frame.data?.peer) {
              resolve(frame.data.peer.id);
            } else {
              ws.close();
              reject(new JoinError(frame.error?.code ?? 'UNKNOWN', frame.error?.message ?? raw.toString()));
            }
          }
        });
      });
      ws.removeAllListeners('close');
      ws.removeAllListeners('error');
      ws.on('error', () => undefined);
      const prefix = '{"type":"signal","seq":';
      ws.on('message', (raw: Buffer) => {
        // Acks ({"id":N,"ok":…) are told by their third byte and only counted; events start {"type":….
        if (raw[2] !== 0x74) {
          if (raw.includes(OK_TRUE)) {
            acks.ok++;
          } else {
            acks.failed++;
            const code = /"code":"([A-Z_]+)"/.exec(raw.toString())?.[1] ?? 'UNKNOWN';
            acks.codes[code] = (acks.codes[code] ?? 0) + 1;
          }
          return;
        }
        const text = raw.toString();
        if (text.startsWith(prefix)) {
          const at = text.indexOf('"signal":', prefix.length);
          onSignal(text.slice(at + 9, -2));
        }
      });
      return {
        id: peerId,
        send: (to, signalJson) => ws.send(`{"id":${nextId++},"type":"signal.send","data":{"to":"${to}","signal":${signalJson}}}`),
        close: () => ws.close(),
      };
    },
  };
}

const PAD = 'candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 192.168.1.5 rport 46154 generation 0 ufrag sXyZ network-cost 999';

/** An ICE-candidate-sized signal (about 250 bytes) carrying its send time and a counter. */
export function timedSignal(n: number): string {
  return `{"candidate":{"candidate":"${PAD}","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"sXyZ"},"t":${performance.now()},"n":${n}}`;
}

/** The send time (`performance.now()` of this process) a timed signal carries. */
export function sentAt(json: string): number {
  return Number(/"t":([\d.]+)/.exec(json)?.[1]);
}
