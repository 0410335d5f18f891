/**
 * The cross-node scenario: Heliograph as a two-node cluster over Redis. The senders connect to
 * node A; the receivers (same room, one pair per room) to node B, so every signal goes A → Redis
 * → B and its ack B → Redis → A. The same measurements with the receivers on node A (same-node
 * pairs, same cluster set-up) give the baseline, and the table shows cross-node / same-node.
 */
import { startCluster } from './cluster.js';
import { cpuMs } from './proc.js';
import { runGenerator } from './processes.js';
import type { Placement, Row } from './report.js';

export interface CrossNodeSettings {
  /** Closed-loop throughput window, after warm-up. */
  seconds: number;
  /** Open-loop latency window, after warm-up. */
  latencySeconds: number;
  warmupMs: number;
  /** The fixed offered loads of the latency measurement, messages per second. */
  rates: number[];
}

export interface CrossNodeResult {
  rows: Row[];
  raw: Record<string, unknown>;
  /** Latency distributions by offered load and placement, for the chart. */
  cdfs: Record<string, Record<string, Array<[number, number]>>>;
}

const PLACEMENTS: Placement[] = ['same-node', 'cross-node'];
const PAIRS = 50;

interface ClusterRun {
  result: Record<string, unknown>;
  /** CPU of node A, node B and Redis between the generator's start and end marks, ms. */
  cpu: { a: number; b: number; redis: number; total: number };
}

/** Starts a fresh cluster, runs one generator against it, and stops the cluster. */
async function measure(placement: Placement, scenario: string, args: Record<string, number>, secret: string): Promise<ClusterRun> {
  const cluster = await startCluster(secret);
  try {
    const pids = cluster.pids();
    let start: number[] = [];
    let used: number[] = [];
    const receiverPort = placement === 'cross-node' ? cluster.b.port : cluster.a.port;
    const result = await runGenerator('heliograph', cluster.a.port, scenario, { ...args, receiverPort }, secret, (mark) => {
      if (mark === 'start') {
        start = pids.map(cpuMs);
      } else if (mark === 'end') {
        used = pids.map((pid, i) => cpuMs(pid) - (start[i] ?? Number.NaN));
      }
    });
    const [a = Number.NaN, b = Number.NaN, redis = Number.NaN] = used;
    return { result: result as Record<string, unknown>, cpu: { a, b, redis, total: a + b + redis } };
  } finally {
    await cluster.close();
  }
}

const num = (value: unknown): number => (typeof value === 'number' ? value : Number.NaN);
const isCdf = (value: unknown): value is Array<[number, number]> => Array.isArray(value) && value.every((point) => Array.isArray(point) && point.length === 2);

async function throughput(s: CrossNodeSettings, secret: string, out: CrossNodeResult, log: (text: string) => void): Promise<void> {
  const scenario = 'cross-node relay throughput';
  for (const placement of PLACEMENTS) {
    log(`cross-node throughput: ${placement}`);
    const m = await measure(placement, 'throughput', { pairs: PAIRS, window: 32, seconds: s.seconds, warmupMs: s.warmupMs }, secret);
    out.raw[`crossNode.throughput.${placement}`] = { ...m.result, clusterCpuMs: m.cpu };
    const row = (metric: string, value: number, better: Row['better']) => out.rows.push({ scenario, metric, target: placement, value, better });
    row('acked msg/s', num(m.result.ackedPerSecond), 'higher');
    row('delivered msg/s', num(m.result.perSecond), 'higher');
    row('cluster CPU µs/msg', (m.cpu.total * 1000) / num(m.result.delivered), 'lower');
    row('failed acks', num(m.result.ackFailures), 'lower');
  }
}

async function latency(s: CrossNodeSettings, rate: number, secret: string, out: CrossNodeResult, log: (text: string) => void): Promise<void> {
  const scenario = `cross-node latency @ ${rate}/s`;
  for (const placement of PLACEMENTS) {
    log(`cross-node latency at ${rate}/s: ${placement}`);
    const m = await measure(placement, 'latency', { pairs: PAIRS, rate, seconds: s.latencySeconds, warmupMs: s.warmupMs }, secret);
    out.raw[`crossNode.latency${rate}.${placement}`] = { ...m.result, cdf: undefined, clusterCpuMs: m.cpu };
    (out.cdfs[`${rate} msg/s`] ??= {})[placement] = isCdf(m.result.cdf) ? m.result.cdf : [];
    const row = (metric: string, value: number, better: Row['better']) => out.rows.push({ scenario, metric, target: placement, value, better });
    for (const p of ['p50', 'p99', 'p999'] as const) {
      row(`one-way ${p} ms`, num(m.result[p]), 'lower');
    }
    row('achieved msg/s', num(m.result.achievedRate), 'higher');
    row('failed acks', num(m.result.ackFailures), 'lower');
  }
}

/** Runs both measurements, each on a fresh cluster per placement. */
export async function crossNode(s: CrossNodeSettings, secret: string, log: (text: string) => void): Promise<CrossNodeResult> {
  const out: CrossNodeResult = { rows: [], raw: {}, cdfs: {} };
  await throughput(s, secret, out, log);
  for (const rate of s.rates) {
    await latency(s, rate, secret, out, log);
  }
  return out;
}
