/**
 * Scale-out: 1, 2 and 4 Heliograph nodes over one Redis, each node pinned to a core of its own,
 * Redis on another, and the load generators on the cores left. Aggregate acked msg/s with
 * node-local pairs (sender and receiver on one node) and with every pair split across nodes
 * (sender on node i, receiver on node i + 1), CPU per node and for Redis, against one standalone
 * node (no Redis) measured the same way. On a machine without the cores for that layout it is
 * skipped, with the reason: nodes sharing cores would measure the sharing, not the scale-out.
 */
import { cpus } from 'node:os';
import { clusterFlags, linked, startRedisServer } from './cluster.js';
import { cpuMs } from './proc.js';
import { hasTaskset, runGenerator, startHeliograph, type RunningServer } from './processes.js';

const NODE_COUNTS = [1, 2, 4] as const;
const MAX_NODES = 4;
const REDIS_CORE = MAX_NODES;
const FIRST_GENERATOR_CORE = MAX_NODES + 1;
/** At least two generator cores, so that one generator process is never the ceiling of four nodes. */
const MIN_GENERATOR_CORES = 2;
export const SCALE_OUT_MIN_CORES = FIRST_GENERATOR_CORE + MIN_GENERATOR_CORES;
const PAIRS_PER_GENERATOR = 50;

export interface ScaleOutSettings {
  seconds: number;
  warmupMs: number;
}

/** One configuration's measurement: acked msg/s over all generators, and CPU use as a share of one core. */
interface Measured {
  ackedPerSecond: number;
  failedAcks: number;
  /** Per node, in node order; 1 = one whole core. */
  nodeCpu: number[];
  redisCpu: number | undefined;
}

export type ScaleOutResult = { skipped: string } | { standalone: Measured; clusters: Record<string, Measured>; generatorsPerNode: number; table: string };

/**
 * `BENCH_SCALE_OUT_FORCE=1` runs the scenario on any machine, every core number taken modulo the
 * cores there are: a check that the scenario works, never a measurement (the table says so).
 */
const forced = process.env.BENCH_SCALE_OUT_FORCE === '1';
const core = (n: number): number => (forced ? n % cpus().length : n);

/** Why the scenario cannot run here, or undefined when it can. */
export function scaleOutSkipReason(cores = cpus().length): string | undefined {
  if (forced) {
    return undefined;
  }
  if (!hasTaskset) {
    return 'taskset (util-linux) is not installed, so nodes cannot be pinned to cores of their own';
  }
  if (cores < SCALE_OUT_MIN_CORES) {
    return `needs at least ${SCALE_OUT_MIN_CORES} cores (${MAX_NODES} nodes, Redis and ${MIN_GENERATOR_CORES} generators, each on a core of its own); this machine has ${cores}, and nodes sharing cores would measure the sharing, not the scale-out`;
  }
  return undefined;
}

/**
 * Runs one generator per (node, generator slot) at once: generator g of node i sends from node i
 * to node `receiverOf(i)`. CPU is read between the first generator's start mark and the first
 * end mark, when every generator is in its measured window.
 */
async function drive(
  nodes: RunningServer[],
  receiverOf: (i: number) => number,
  perNode: number,
  s: ScaleOutSettings,
  secret: string,
  redis?: RunningServer,
): Promise<Measured> {
  const genCores = Math.max(1, cpus().length - FIRST_GENERATOR_CORE);
  const pids = [...nodes.map((n) => n.pid), ...(redis ? [redis.pid] : [])];
  let started: { at: number; cpu: number[] } | undefined;
  let ended: { at: number; cpu: number[] } | undefined;
  const snapshot = () => ({ at: Date.now(), cpu: pids.map(cpuMs) });
  const runs = nodes.flatMap((node, i) =>
    Array.from({ length: perNode }, (_, g) => {
      const slot = i * perNode + g;
      const args = {
        pairs: PAIRS_PER_GENERATOR,
        window: 32,
        seconds: s.seconds,
        warmupMs: s.warmupMs,
        offset: slot * 1_000,
        receiverPort: nodes[receiverOf(i)]!.port,
      };
      return runGenerator(
        'heliograph',
        node.port,
        'throughput',
        args,
        secret,
        (mark) => {
          if (mark === 'start' && !started) {
            started = snapshot();
          } else if (mark === 'end' && !ended) {
            ended = snapshot();
          }
        },
        core(FIRST_GENERATOR_CORE + (slot % genCores)),
      ) as Promise<Record<string, number>>;
    }),
  );
  const results = await Promise.all(runs);
  const wallMs = (ended?.at ?? Number.NaN) - (started?.at ?? Number.NaN);
  const share = (k: number) => ((ended?.cpu[k] ?? Number.NaN) - (started?.cpu[k] ?? Number.NaN)) / wallMs;
  return {
    ackedPerSecond: results.reduce((sum, r) => sum + (r.ackedPerSecond ?? 0), 0),
    failedAcks: results.reduce((sum, r) => sum + (r.ackFailures ?? 0), 0),
    nodeCpu: nodes.map((_, k) => share(k)),
    redisCpu: redis ? share(nodes.length) : undefined,
  };
}

async function standalone(perNode: number, s: ScaleOutSettings, secret: string): Promise<Measured> {
  const node = await startHeliograph(secret, core(0));
  try {
    return await drive([node], () => 0, perNode, s, secret);
  } finally {
    await node.close();
  }
}

async function cluster(count: number, split: boolean, perNode: number, s: ScaleOutSettings, secret: string): Promise<Measured> {
  const redis = await startRedisServer(core(REDIS_CORE));
  const nodes: RunningServer[] = [];
  try {
    const started = await Promise.allSettled(Array.from({ length: count }, (_, i) => startHeliograph(secret, core(i), clusterFlags(redis.port, secret))));
    for (const r of started) {
      if (r.status === 'fulfilled') {
        nodes.push(r.value);
      } else {
        throw r.reason;
      }
    }
    await linked(nodes, count - 1);
    return await drive(nodes, (i) => (split ? (i + 1) % count : i), perNode, s, secret, redis);
  } finally {
    for (const node of nodes) {
      await node.close();
    }
    await redis.close();
  }
}

const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '—' : `${Math.round(x * 100)}%`);
const int = (x: number) => (Number.isNaN(x) ? '—' : Math.round(x).toLocaleString('en-US'));

function render(base: Measured, clusters: Record<string, Measured>): string {
  const lines = [
    ...(forced
      ? [`FORCED on ${cpus().length} cores (BENCH_SCALE_OUT_FORCE=1): processes share cores; these figures check the scenario, they measure nothing`]
      : []),
    `standalone node (no Redis): ${int(base.ackedPerSecond)} acked msg/s, CPU ${pct(base.nodeCpu[0])}`,
    '| nodes | pairs | acked msg/s | ÷ (nodes × standalone) | CPU per node | Redis CPU | failed acks |',
    '|---:|---|---:|---:|---|---:|---:|',
  ];
  for (const [key, m] of Object.entries(clusters)) {
    const [count, placement] = key.split(' ') as [string, string];
    const ratio = m.ackedPerSecond / (Number(count) * base.ackedPerSecond);
    lines.push(
      `| ${count} | ${placement} | ${int(m.ackedPerSecond)} | ${ratio.toFixed(2)} | ${m.nodeCpu.map(pct).join(' ')} | ${pct(m.redisCpu)} | ${m.failedAcks} |`,
    );
  }
  const one = clusters['1 local'];
  if (one) {
    lines.push(`same-node relays on a clustered node ÷ a standalone node: ${(one.ackedPerSecond / base.ackedPerSecond).toFixed(2)} (target ≥ 0.95)`);
  }
  lines.push('targets: 4 local ≥ 3.6 × standalone (÷ 4 × standalone ≥ 0.90); 4 split ≥ 0.6 × (4 × standalone)');
  return lines.join('\n');
}

/** The scenario, or the reason it was skipped. */
export async function scaleOut(s: ScaleOutSettings, secret: string, log: (text: string) => void): Promise<ScaleOutResult> {
  const skip = scaleOutSkipReason();
  if (skip) {
    log(`scale-out: skipped: ${skip}`);
    return { skipped: skip };
  }
  const perNode = Math.max(1, Math.min(2, Math.floor((cpus().length - FIRST_GENERATOR_CORE) / MAX_NODES)));
  log(`scale-out: standalone node, ${perNode} generator(s) per node`);
  const base = await standalone(perNode, s, secret);
  const clusters: Record<string, Measured> = {};
  for (const count of NODE_COUNTS) {
    for (const split of count === 1 ? [false] : [false, true]) {
      const key = `${count} ${split ? 'split' : 'local'}`;
      log(`scale-out: ${count} node(s), ${split ? 'every pair split across nodes' : 'node-local pairs'}`);
      clusters[key] = await cluster(count, split, perNode, s, secret);
    }
  }
  return { standalone: base, clusters, generatorsPerNode: perNode, table: render(base, clusters) };
}
