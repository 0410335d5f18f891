/**
 * `npm run bench`: Heliograph against the floor (a raw `ws` relay) in the same run, and with
 * `--peers` against PeerJS and a Socket.IO relay; then Heliograph as two nodes over Redis
 * (cross-node pairs against same-node pairs). Servers and generators are separate processes,
 * pinned to different cores where possible. Loopback only; every phase is bounded in time.
 *
 *   npm run bench                  full run (about 2 minutes on a quiet machine)
 *   npm run bench -- --quick       short run (under a minute)
 *   npm run bench -- --peers       also PeerJS and Socket.IO in the relay scenarios
 *   npm run bench -- --only=cross-node   Heliograph as two nodes over Redis, against one node
 *   npm run bench -- --only=resume       reconnecting sessions: memory each, resume latency
 *   npm run bench -- --only=scale-out    1, 2 and 4 nodes on cores of their own (skipped, with the reason, below 7 cores)
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { crossNode } from './cross-node.js';
import { scaleOut } from './scale-out.js';
import { cpuMs, rssBytes } from './proc.js';
import { pinning, runGenerator, startTarget } from './processes.js';
import { renderChart, renderTable, type Row } from './report.js';
import type { TargetName } from './targets.js';

const argv = new Set(process.argv.slice(2));
/** `--only=latency` (or throughput, join, capacity, resume, cross-node, scale-out) runs one scenario, for profiling. */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const wanted = (scenario: string) => !only || only === scenario;
const quick = argv.has('--quick');
const withPeers = argv.has('--peers');
const secret = randomBytes(32).toString('base64url');
const relayTargets: TargetName[] = withPeers ? ['heliograph', 'floor', 'peerjs', 'socketio'] : ['heliograph', 'floor'];

const settings = quick
  ? { seconds: 1.5, latencySeconds: 1, warmupMs: 300, rates: [5000, 20000], joinTries: 100, peers: 1000 }
  : { seconds: 10, latencySeconds: 5, warmupMs: 1000, rates: [5000, 20000], joinTries: 500, peers: 10_000 };
/**
 * A fresh cluster per measurement and placement: a shorter throughput window keeps the full run
 * short; the quick run measures latency at one load. 1,000/s is well under what the cluster on
 * one core relays across nodes; 5,000/s is the single-node latency target's load.
 */
const crossSettings = quick
  ? { seconds: 1.5, latencySeconds: 1, warmupMs: 500, rates: [1000] }
  : { seconds: 5, latencySeconds: 5, warmupMs: 1000, rates: [1000, 5000] };

interface Measured {
  result: Record<string, unknown>;
  serverCpuMs?: number;
  serverRssBefore?: number;
  serverRssConnected?: number;
}

async function measure(target: TargetName, scenario: string, args: Record<string, number>): Promise<Measured> {
  const server = await startTarget(target, secret);
  const measured: Partial<Measured> = {};
  let cpuStart = 0;
  try {
    const result = await runGenerator(target, server.port, scenario, args, secret, (mark) => {
      if (mark === 'start') {
        cpuStart = cpuMs(server.pid);
      } else if (mark === 'end') {
        measured.serverCpuMs = cpuMs(server.pid) - cpuStart;
      } else if (mark === 'before') {
        measured.serverRssBefore = rssBytes(server.pid);
      } else if (mark === 'connected') {
        measured.serverRssConnected = rssBytes(server.pid);
      }
    });
    return { ...measured, result: result as Record<string, unknown> };
  } finally {
    await server.close();
  }
}

const started = Date.now();
const rows: Row[] = [];
const raw: Record<string, unknown> = {};
const log = (text: string) => process.stderr.write(`${text}\n`);

log(`bench: ${quick ? 'quick' : 'full'} run; ${pinning}; ${cpus().length} cores`);

// Relay throughput, and the server's CPU per relayed message.
for (const target of wanted('throughput') ? relayTargets : []) {
  log(`throughput: ${target}`);
  const m = await measure(target, 'throughput', { pairs: 50, window: 32, seconds: settings.seconds, warmupMs: settings.warmupMs });
  const delivered = m.result.delivered as number;
  raw[`throughput.${target}`] = { ...m.result, serverCpuMs: m.serverCpuMs };
  rows.push({ scenario: 'relay throughput', metric: 'delivered msg/s', target, value: m.result.perSecond as number, better: 'higher' });
  rows.push({ scenario: 'relay throughput', metric: 'server CPU µs/msg', target, value: ((m.serverCpuMs ?? Number.NaN) * 1000) / delivered, better: 'lower' });
}

// Latency at fixed offered loads.
const latencies: Record<string, Record<string, Array<[number, number]>>> = {};
for (const rate of wanted('latency') ? settings.rates : []) {
  for (const target of relayTargets) {
    log(`latency at ${rate}/s: ${target}`);
    const m = await measure(target, 'latency', { pairs: 50, rate, seconds: settings.latencySeconds, warmupMs: settings.warmupMs });
    raw[`latency${rate}.${target}`] = { ...m.result, cdf: undefined };
    (latencies[`${rate} msg/s`] ??= {})[target] = m.result.cdf as Array<[number, number]>;
    for (const p of ['p50', 'p99', 'p999', 'max'] as const) {
      rows.push({ scenario: `latency @ ${rate}/s`, metric: `one-way ${p} ms`, target, value: m.result[p] as number, better: 'lower' });
    }
    rows.push({ scenario: `latency @ ${rate}/s`, metric: 'achieved msg/s', target, value: m.result.achievedRate as number, better: 'higher' });
  }
}

// Join: connect, authenticate, join, first signal delivered.
for (const target of wanted('join') ? (['heliograph', 'floor'] as const) : []) {
  log(`join: ${target}`);
  const m = await measure(target, 'join', { tries: settings.joinTries });
  raw[`join.${target}`] = { ...m.result, cdf: undefined };
  rows.push({ scenario: 'join → first signal', metric: 'median ms', target, value: m.result.p50 as number, better: 'lower' });
  rows.push({ scenario: 'join → first signal', metric: 'p99 ms', target, value: m.result.p99 as number, better: 'lower' });
}

// Capacity: idle joined peers.
for (const target of wanted('capacity') ? (['heliograph', 'floor'] as const) : []) {
  log(`capacity (${settings.peers} peers): ${target}`);
  const m = await measure(target, 'capacity', { peers: settings.peers, concurrency: 100, settleMs: settings.warmupMs });
  const perPeer = ((m.serverRssConnected ?? Number.NaN) - (m.serverRssBefore ?? Number.NaN)) / (m.result.peers as number);
  raw[`capacity.${target}`] = { ...m.result, rssBefore: m.serverRssBefore, rssConnected: m.serverRssConnected };
  rows.push({ scenario: `capacity (${settings.peers} idle peers)`, metric: 'server RSS KiB/peer', target, value: perPeer / 1024, better: 'lower' });
  rows.push({ scenario: `capacity (${settings.peers} idle peers)`, metric: 'connections/s', target, value: m.result.perSecond as number, better: 'higher' });
}

// Session resume: memory held by reconnecting sessions, and resume latency (Heliograph only).
if (wanted('resume')) {
  const sessions = quick ? 300 : 2000;
  const eventsEach = 20;
  log(`resume (${sessions} reconnecting sessions, ${eventsEach} signals queued for each): heliograph`);
  const m = await measure('heliograph', 'resume', { sessions, eventsEach, hardLimitSeconds: 300 });
  const perSession = ((m.serverRssConnected ?? Number.NaN) - (m.serverRssBefore ?? Number.NaN)) / sessions;
  raw['resume.heliograph'] = { ...m.result, rssBefore: m.serverRssBefore, rssReconnecting: m.serverRssConnected };
  const scenario = `resume (${sessions} sessions, ${eventsEach} signals queued each)`;
  rows.push({ scenario, metric: 'server RSS KiB/reconnecting session', target: 'heliograph', value: perSession / 1024, better: 'lower' });
  rows.push({ scenario, metric: 'reconnect → replay complete p50 ms', target: 'heliograph', value: m.result.p50 as number, better: 'lower' });
  rows.push({ scenario, metric: 'reconnect → replay complete p99 ms', target: 'heliograph', value: m.result.p99 as number, better: 'lower' });
}

// Cross-node: two nodes over Redis, receivers on the other node, against same-node pairs.
const clusterRows: Row[] = [];
if (wanted('cross-node')) {
  const cross = await crossNode(crossSettings, secret, log);
  clusterRows.push(...cross.rows);
  Object.assign(raw, cross.raw);
  for (const [load, byPlacement] of Object.entries(cross.cdfs)) {
    latencies[`two nodes over Redis, ${load}`] = byPlacement;
  }
}

// Scale-out: 1, 2 and 4 nodes on cores of their own, node-local and split pairs (needs 7 cores).
let scaleOutText: string | undefined;
if (wanted('scale-out')) {
  const result = await scaleOut(quick ? { seconds: 1.5, warmupMs: 500 } : { seconds: 5, warmupMs: 1000 }, secret, log);
  raw.scaleOut = 'skipped' in result ? result : { ...result, table: undefined };
  scaleOutText =
    'skipped' in result ? `scale-out: skipped: ${result.skipped}` : `Scale-out (acked msg/s over all generators; CPU as a share of one core)\n${result.table}`;
}

const seconds = (Date.now() - started) / 1000;
if (rows.length > 0) {
  console.log(renderTable(rows));
}
if (clusterRows.length > 0) {
  console.log(
    `${rows.length > 0 ? '\n' : ''}Heliograph as two nodes over Redis (both nodes and Redis where the single server runs): receivers on the senders' node (same-node) or on the other node (cross-node)`,
  );
  console.log(renderTable(clusterRows, 'cross-node', 'cross'));
}
if (scaleOutText) {
  console.log(`\n${scaleOutText}`);
}
console.log(`total ${seconds.toFixed(1)} s`);

const dir = fileURLToPath(new URL('../results/', import.meta.url));
mkdirSync(dir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
writeFileSync(
  `${dir}bench-${stamp}.json`,
  JSON.stringify({ quick, withPeers, pinning, node: process.version, seconds, rows: [...rows, ...clusterRows], raw }, null, 2),
);
writeFileSync(`${dir}latency-${stamp}.html`, renderChart(latencies));
console.log(`results: bench/results/bench-${stamp}.json, chart: bench/results/latency-${stamp}.html`);
