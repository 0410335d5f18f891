import { performance } from 'node:perf_hooks';
import { heliographTarget, JoinError, sentAt, timedSignal, type Conn } from './load-client.js';
import { distribution } from './stats.js';

/** The bounds of one run: an operator's tool, not a way to take a service down by a typo. */
export const LOADTEST_LIMITS = { maxRooms: 1000, maxPeersPerRoom: 100, maxPeers: 5000, maxRate: 20_000, maxSeconds: 600, concurrency: 20 } as const;

export interface LoadRunOptions {
  /** `ws(s)://host:port/ws`. */
  wsUrl: string;
  /** Mints a join token for `userId` in `room` (the control API's POST /v1/tokens). */
  mint(userId: string, room: string): Promise<string>;
  rooms: number;
  peersPerRoom: number;
  /** Signals per second, over all the peers. */
  rate: number;
  /** How long signals are sent, once everyone has joined. */
  seconds: number;
  /** Room ids are `<prefix>-<n>`, users `<prefix>-<n>-<m>`. */
  prefix: string;
  /** Aborts the run early (Ctrl-C); what was measured is still reported. */
  signal?: AbortSignal | undefined;
  /** Progress lines for the operator. */
  progress?: (line: string) => void;
}

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface LoadReport {
  rooms: number;
  peersPerRoom: number;
  peers: { wanted: number; joined: number };
  /** From opening the socket to the room.join answer, ms. */
  joinMs: Percentiles;
  signals: { offeredRate: number; sent: number; delivered: number; acked: number; failed: number };
  /** One way, from the sender's send to the recipient's read (same process clock), ms. */
  relayMs: Percentiles & { p999: number };
  /** Failed joins and failed acks, by error code. */
  errors: Record<string, number>;
  seconds: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

function summary(samples: number[]): Percentiles & { p999: number } {
  const { count, p50, p99, p999, max } = distribution(samples);
  const clean = (n: number) => (Number.isNaN(n) ? 0 : n);
  return { count, p50: clean(p50), p99: clean(p99), p999: clean(p999), max: clean(max) };
}

/** Checks the bounds; returns what is wrong, or undefined. */
export function checkLoadOptions(o: Pick<LoadRunOptions, 'rooms' | 'peersPerRoom' | 'rate' | 'seconds'>): string | undefined {
  const L = LOADTEST_LIMITS;
  if (!Number.isInteger(o.rooms) || o.rooms < 1 || o.rooms > L.maxRooms) return `--rooms must be a whole number from 1 to ${L.maxRooms}`;
  if (!Number.isInteger(o.peersPerRoom) || o.peersPerRoom < 2 || o.peersPerRoom > L.maxPeersPerRoom)
    return `--peers-per-room must be a whole number from 2 to ${L.maxPeersPerRoom}`;
  if (o.rooms * o.peersPerRoom > L.maxPeers) return `--rooms × --peers-per-room must be at most ${L.maxPeers}`;
  if (!(o.rate >= 0 && o.rate <= L.maxRate)) return `--rate must be from 0 to ${L.maxRate} signals per second`;
  if (!(o.seconds > 0 && o.seconds <= L.maxSeconds)) return `--seconds must be more than 0 and at most ${L.maxSeconds}`;
  return undefined;
}

/**
 * Joins `rooms × peersPerRoom` synthetic peers (the benchmark's client), then sends `rate`
 * candidate-sized signals per second for `seconds`, each to the next peer of its room, and
 * reports join and relay latency percentiles and errors. Every loop is bounded in count and time.
 */
export async function runLoad(o: LoadRunOptions): Promise<LoadReport> {
  const errors: Record<string, number> = {};
  const count = (code: string) => (errors[code] = (errors[code] ?? 0) + 1);
  const relay: number[] = [];
  let delivered = 0;
  const tokens = new Map<string, string>();
  const target = heliographTarget({ wsUrl: o.wsUrl, token: async (name) => tokens.get(name) ?? '' });
  const members: Conn[][] = Array.from({ length: o.rooms }, () => []);
  const joinTimes: number[] = [];
  const slots = Array.from({ length: o.rooms * o.peersPerRoom }, (_, k) => ({ room: Math.floor(k / o.peersPerRoom), member: k % o.peersPerRoom }));
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(LOADTEST_LIMITS.concurrency, slots.length) }, async () => {
      while (next < slots.length && !o.signal?.aborted) {
        const { room, member } = slots[next++]!;
        const roomId = `${o.prefix}-${room}`;
        const user = `${roomId}-${member}`;
        try {
          tokens.set(user, await o.mint(user, roomId));
          const t0 = performance.now();
          const conn = await target.connect(user, roomId, (json) => {
            delivered++;
            relay.push(performance.now() - sentAt(json));
          });
          joinTimes.push(performance.now() - t0);
          members[room]!.push(conn);
        } catch (err) {
          count(err instanceof JoinError ? err.code : 'TOKEN');
        }
      }
    }),
  );
  const joined = members.reduce((n, m) => n + m.length, 0);
  o.progress?.(`joined ${joined} of ${slots.length} peers in ${o.rooms} rooms; sending ${o.rate} signals/s for ${o.seconds} s`);
  const pairs = members.flatMap((m) => (m.length < 2 ? [] : m.map((from, i) => ({ from, to: m[(i + 1) % m.length]!.id }))));
  let sent = 0;
  const start = performance.now();
  const tick = setInterval(() => {
    const due = Math.min(1000, Math.floor(((performance.now() - start) * o.rate) / 1000) - sent);
    for (let k = 0; k < due && pairs.length > 0; k++) {
      const pair = pairs[sent % pairs.length]!;
      pair.from.send(pair.to, timedSignal(sent++));
    }
  }, 5);
  await sleep(o.seconds * 1000, o.signal);
  clearInterval(tick);
  const elapsed = (performance.now() - start) / 1000;
  // Let the last signals and acks arrive (bounded), then leave.
  const settle = performance.now() + 2000;
  while (performance.now() < settle && (target.acks?.().ok ?? 0) + (target.acks?.().failed ?? 0) < sent) {
    await sleep(20);
  }
  const acks = target.acks?.() ?? { ok: 0, failed: 0, codes: {} };
  for (const [code, n] of Object.entries(acks.codes ?? {})) {
    errors[code] = (errors[code] ?? 0) + n;
  }
  members.flat().forEach((c) => c.close());
  const join = summary(joinTimes);
  return {
    rooms: o.rooms,
    peersPerRoom: o.peersPerRoom,
    peers: { wanted: slots.length, joined },
    joinMs: { count: join.count, p50: join.p50, p99: join.p99, max: join.max },
    signals: { offeredRate: o.rate, sent, delivered, acked: acks.ok, failed: acks.failed },
    relayMs: summary(relay),
    errors,
    seconds: Math.round(elapsed * 1000) / 1000,
  };
}
