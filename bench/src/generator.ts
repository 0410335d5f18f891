/**
 * A load generator process: runs one scenario against one server and prints its result as JSON
 * on the last line. `MARK <name>` lines tell the orchestrator when to read the server's CPU and
 * memory. Every loop here is bounded in count and time.
 */
import { performance } from 'node:perf_hooks';
import { resumeScenario } from './resume-scenario.js';
import { distribution, sentAt, timedSignal as signal } from '@heliograph/server/loadtest';
import { targetClient, type Conn, type TargetName } from './targets.js';

const [target, portText, scenario, ...rest] = process.argv.slice(2);
const args = Object.fromEntries(rest.map((a) => a.split('=') as [string, string]));
const port = Number(portText);
const num = (name: string, fallback: number) => Number(args[name] ?? fallback);
const client = targetClient(target as TargetName, port, process.env.BENCH_SECRET ?? '');
/** Receivers connect here: another node of a cluster with `receiverPort=`, else the same server. */
const receiverClient = args.receiverPort === undefined ? client : targetClient(target as TargetName, num('receiverPort', port), process.env.BENCH_SECRET ?? '');
/** Acks the senders have read (Heliograph), zero for servers without acks. */
const senderAcks = () => client.acks?.() ?? { ok: 0, failed: 0 };

function mark(name: string): void {
  console.log(`MARK ${name}`);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Pair {
  sender: Conn;
  receiverId: string;
  delivered: number;
  sent: number;
}

/** `offset=` numbers this generator's rooms and users after another's (several generators, one cluster). */
async function makePairs(count: number, onDelivered: (pair: number, json: string) => void): Promise<Pair[]> {
  const pairs: Pair[] = [];
  const offset = num('offset', 0);
  for (let i = 0; i < count; i++) {
    const room = `bench-${offset + i}`;
    const receiver = await receiverClient.connect(`r${offset + i}`, room, (json) => onDelivered(i, json));
    const sender = await client.connect(`s${offset + i}`, room, () => undefined);
    pairs.push({ sender, receiverId: receiver.id, delivered: 0, sent: 0 });
  }
  return pairs;
}

/** Closed loop: each pair keeps `window` signals in flight; counts deliveries per second. */
async function throughput(): Promise<unknown> {
  const window = num('window', 32);
  const seconds = num('seconds', 10);
  let counting = false;
  let delivered = 0;
  let pairs: Pair[] = [];
  pairs = await makePairs(num('pairs', 50), (i) => {
    const pair = pairs[i]!;
    pair.delivered++;
    if (counting) {
      delivered++;
    }
    if (running) {
      pair.sender.send(pair.receiverId, signal(pair.sent++));
    }
  });
  let running = true;
  for (const pair of pairs) {
    for (let k = 0; k < window; k++) {
      pair.sender.send(pair.receiverId, signal(pair.sent++));
    }
  }
  await sleep(num('warmupMs', 1000));
  counting = true;
  mark('start');
  const acks0 = senderAcks();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const acks1 = senderAcks();
  mark('end');
  counting = false;
  running = false;
  const acked = acks1.ok - acks0.ok;
  return { delivered, seconds: elapsed, perSecond: delivered / elapsed, acked, ackedPerSecond: acked / elapsed, ackFailures: acks1.failed };
}

/** Open loop: a fixed offered rate spread over the pairs; one-way latency of every signal. */
async function latency(): Promise<unknown> {
  const rate = num('rate', 5000);
  const seconds = num('seconds', 5);
  const samples: number[] = [];
  let recording = false;
  let received = 0;
  const pairs = await makePairs(num('pairs', 50), (_i, json) => {
    received++;
    if (recording) {
      samples.push(performance.now() - sentAt(json));
    }
  });
  let sent = 0;
  const start = performance.now();
  const tick = setInterval(() => {
    const due = Math.floor(((performance.now() - start) * rate) / 1000) - sent;
    for (let k = 0; k < due; k++) {
      const pair = pairs[sent % pairs.length]!;
      pair.sender.send(pair.receiverId, signal(sent++));
    }
  }, 1);
  await sleep(num('warmupMs', 1000));
  recording = true;
  mark('start');
  await sleep(seconds * 1000);
  recording = false;
  mark('end');
  clearInterval(tick);
  await sleep(200);
  const achieved = sent / ((performance.now() - start) / 1000);
  return { offered: rate, achievedRate: achieved, received, ackFailures: senderAcks().failed, ...distribution(samples) };
}

/** Connect, authenticate, join, and the first signal delivered, one try after another. */
async function join(): Promise<unknown> {
  const tries = num('tries', 500);
  let waiting: (() => void) | undefined;
  const host = await client.connect('host', 'join-bench', () => waiting?.());
  const times: number[] = [];
  const deadline = performance.now() + num('maxSeconds', 60) * 1000;
  for (let i = 0; i < tries && performance.now() < deadline; i++) {
    const t0 = performance.now();
    const conn = await client.connect(`joiner${i}`, 'join-bench', () => undefined);
    await new Promise<void>((resolve) => {
      waiting = resolve;
      conn.send(host.id, signal(i));
    });
    times.push(performance.now() - t0);
    conn.close();
  }
  return distribution(times);
}

/** Many idle joined peers (rooms of two): connections per second and, via MARK, server memory. */
async function capacity(): Promise<unknown> {
  const peers = num('peers', 10_000);
  const concurrency = num('concurrency', 100);
  const conns: Conn[] = [];
  mark('before');
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < peers) {
        const i = next++;
        conns.push(await client.connect(`idle${i}`, `idle-${Math.floor(i / 2)}`, () => undefined));
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  await sleep(num('settleMs', 1000)); // let the server settle before its memory is read
  mark('connected');
  await sleep(200);
  return { peers: conns.length, seconds, perSecond: conns.length / seconds };
}

/** Heliograph only: sessions reconnecting while signalled, then resumed (see resume-scenario.ts). */
function resume(): Promise<unknown> {
  return resumeScenario({ port, secret: process.env.BENCH_SECRET ?? '', sessions: num('sessions', 1000), eventsEach: num('eventsEach', 20), mark });
}

const scenarios: Record<string, () => Promise<unknown>> = { throughput, latency, join, capacity, resume };
const run = scenarios[scenario ?? ''];
if (!run) {
  console.error(`unknown scenario ${scenario}`);
  process.exit(2);
}
const hardStop = setTimeout(
  () => {
    console.error('generator: hard time limit reached');
    process.exit(3);
  },
  num('hardLimitSeconds', 120) * 1000,
);
const result = await run();
clearTimeout(hardStop);
console.log(JSON.stringify({ result }));
process.exit(0);
