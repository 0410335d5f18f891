/**
 * A two-node Heliograph cluster for the cross-node scenario: a real `redis-server` (Debian package
 * `redis-server`) without persistence on a free loopback port, and two Heliograph nodes sharing it
 * (same JWT secret, separate data directories). All three are pinned to core 0, where a single
 * server sits in the other scenarios: the generator keeps core 1 to itself.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pinned, startHeliograph, stopChild, waitFor, type RunningServer } from './processes.js';

export const CLUSTER_CORE = 0;

/**
 * The flags of a bench cluster node: the Redis, and direct links between the nodes (a link secret
 * derived from the run's JWT secret; links on loopback). `BENCH_LINKS=0` measures the
 * Redis-only path instead, for comparison.
 */
export function clusterFlags(redisPort: number, secret: string): string[] {
  const flags = ['--redis', `redis://127.0.0.1:${redisPort}`];
  if (process.env.BENCH_LINKS !== '0') {
    flags.push('--cluster.link-secret', `links-${secret}`, '--cluster.link-host', '127.0.0.1');
  }
  return flags;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The path of `redis-server`, or an error that names the package to install. */
function redisServerPath(): string {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === '') {
    throw new Error('cross-node: redis-server not found; install the Debian package redis-server (apt-get install redis-server)');
  }
  return path;
}

/** Starts `redis-server` on a free loopback port, without persistence; close() kills it. */
export async function startRedisServer(core = CLUSTER_CORE): Promise<RunningServer> {
  const binary = redisServerPath();
  const dir = mkdtempSync(join(tmpdir(), 'heliograph-bench-redis-'));
  const port = await freePort();
  const child = pinned(core, [binary, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no']);
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  try {
    await waitFor(child, /Ready to accept connections/, 'redis-server');
    return { pid: child.pid!, port, close: () => stopChild(child, removeDir) };
  } catch (err) {
    await stopChild(child, removeDir);
    throw err;
  }
}

export interface BenchCluster {
  redis: RunningServer;
  /** The node the senders connect to. */
  a: RunningServer;
  /** The node the cross-node receivers connect to. */
  b: RunningServer;
  /** Every process of the cluster, for CPU accounting. */
  pids(): number[];
  /** Stops the nodes, then Redis. Idempotent. */
  close(): Promise<void>;
}

/**
 * Waits until each node has a direct link to `others` nodes (`heliograph_cluster_links`), so that
 * no measurement starts while requests still go through Redis; nothing to wait for without links.
 */
export async function linked(nodes: RunningServer[], others: number): Promise<void> {
  if (process.env.BENCH_LINKS === '0') {
    return;
  }
  const deadline = Date.now() + 15_000;
  for (const node of nodes) {
    for (;;) {
      const text = await fetch(`http://127.0.0.1:${node.port}/metrics`).then(
        (r) => r.text(),
        () => '',
      );
      if (Number(/^heliograph_cluster_links (\d+)/m.exec(text)?.[1] ?? -1) >= others) {
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(`a bench node did not link to ${others} other node(s) within 15 s`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Starts Redis and two nodes on it; on any failure stops what had started and rethrows. */
export async function startCluster(secret: string): Promise<BenchCluster> {
  const started: RunningServer[] = [];
  let closing: Promise<void> | undefined;
  // Nodes before Redis: a node whose Redis vanished first would log reconnect attempts meanwhile.
  const close = () =>
    (closing ??= (async () => {
      for (const server of [...started].reverse()) {
        await server.close();
      }
    })());
  const keep = (server: RunningServer) => {
    started.push(server);
    return server;
  };
  try {
    const redis = keep(await startRedisServer());
    const extra = clusterFlags(redis.port, secret);
    // Both nodes at once: a node's start is mostly loading modules, and the run is shorter.
    const [a, b] = await Promise.allSettled([startHeliograph(secret, CLUSTER_CORE, extra), startHeliograph(secret, CLUSTER_CORE, extra)]);
    for (const node of [a, b]) {
      if (node.status === 'fulfilled') {
        keep(node.value);
      }
    }
    if (a.status === 'rejected' || b.status === 'rejected') {
      throw a.status === 'rejected' ? a.reason : b.status === 'rejected' ? b.reason : new Error('unreachable');
    }
    await linked([a.value, b.value], 1);
    return { redis, a: a.value, b: b.value, pids: () => [a.value.pid, b.value.pid, redis.pid], close };
  } catch (err) {
    await close();
    throw err;
  }
}
