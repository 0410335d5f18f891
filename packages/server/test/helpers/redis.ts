import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './wait.js';

/** A real `redis-server` started by a test on a free loopback port, never the system one. */
export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** SIGKILL: Redis vanishes at once, with everything it held (no persistence). */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: Redis hangs with its connections open (commands go unanswered). */
  pause(): void;
  resume(): void;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  /** Kills it and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts Debian's redis-server (package `redis-server`) without persistence and waits until it
 * accepts connections. `replicaOf`: a replica of the Redis on that port. `sentinelOf`: a Sentinel
 * (quorum 1, down after 500 ms) monitoring the master on that port as `mymaster`; `knownReplicas`
 * spares it the discovery of those replicas (through the master's INFO, every 10 s).
 */
export async function startRedis(
  options: { replicaOf?: number; sentinelOf?: number; knownReplicas?: number[]; clusterNode?: boolean } = {},
): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'heliograph-redis-'));
  const port = await freePort();
  let args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'notice'];
  // A replica's first sync starts at once, not after the default 5 s wait for more replicas.
  args.push('--repl-diskless-sync-delay', '0');
  let ready = 'Ready to accept connections';
  if (options.clusterNode) {
    args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '2000');
  }
  if (options.replicaOf !== undefined) {
    args.push('--replicaof', '127.0.0.1', String(options.replicaOf));
  }
  if (options.sentinelOf !== undefined) {
    // Sentinel rewrites its config file: it needs one of its own.
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor mymaster 127.0.0.1 ${options.sentinelOf} 1`,
        'sentinel down-after-milliseconds mymaster 500',
        'sentinel failover-timeout mymaster 2000',
        ...(options.knownReplicas ?? []).map((p) => `sentinel known-replica mymaster 127.0.0.1 ${p}`),
        '',
      ].join('\n'),
    );
    args = [conf, '--sentinel'];
    ready = '+monitor master';
  }
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const launch = async (): Promise<void> => {
    const p = spawn('/usr/bin/redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = p;
    let log = '';
    p.stdout?.on('data', (c: Buffer) => (log += c.toString()));
    p.stderr?.on('data', (c: Buffer) => (log += c.toString()));
    exited = new Promise((resolve) => p.once('exit', () => resolve()));
    await until(() => log.includes(ready) || p.exitCode !== null, 10_000, 'redis-server to start');
    if (p.exitCode !== null) {
      throw new Error(`redis-server exited at start:\n${log}`);
    }
  };

  const kill = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
    await exited;
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async restart() {
      await kill();
      await launch();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Redis Cluster of `size` masters (no replicas) made with `redis-cli --cluster create`. */
export interface TestRedisCluster {
  readonly nodes: TestRedis[];
  /** `redis-cluster://host:port,…` */
  readonly url: string;
  stop(): Promise<void>;
}

export async function startRedisCluster(size = 3): Promise<TestRedisCluster> {
  const nodes: TestRedis[] = [];
  const stop = async (): Promise<void> => {
    for (const n of nodes) {
      await n.stop();
    }
  };
  try {
    for (let i = 0; i < size; i++) {
      nodes.push(await startRedis({ clusterNode: true }));
    }
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    const cli = promisify(execFile);
    await cli('/usr/bin/redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 20_000 });
    // Every node must agree before slots are served everywhere.
    for (const n of nodes) {
      for (let ok = false; !ok;) {
        const { stdout } = await cli('/usr/bin/redis-cli', ['-p', String(n.port), 'cluster', 'info'], { timeout: 5_000 });
        ok = stdout.includes('cluster_state:ok');
        if (!ok) {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
    return { nodes, url: `redis-cluster://${addresses.join(',')}`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
