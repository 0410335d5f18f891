import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onLines } from './lines.js';
import type { TargetName } from './targets.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const serverCli = fileURLToPath(new URL('../../packages/server/dist/cli/main.js', import.meta.url));
const hasTaskset = spawnSync('sh', ['-c', 'command -v taskset']).status === 0 && (await import('node:os')).cpus().length >= 2;

/** Runs `args` pinned to one core when the machine has two and taskset exists. */
export function pinned(core: number, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const [cmd, ...rest] = hasTaskset ? ['taskset', '-c', String(core), ...args] : args;
  return spawn(cmd!, rest, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

export { hasTaskset };
export const pinning = hasTaskset ? 'server on core 0, generator on core 1 (taskset)' : 'not pinned (no taskset or one core)';

export interface RunningServer {
  pid: number;
  port: number;
  close(): Promise<void>;
}

/** Waits for a line matching `pattern` on the child's stdout and returns the match. */
export function waitFor(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${out}`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = pattern.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${out}`));
    });
  });
}

/** Ends a child (SIGTERM, SIGKILL after 5 s), then runs `cleanup`. Safe to call twice. */
export function stopChild(child: ChildProcess, cleanup: () => void = () => undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      cleanup();
      resolve();
    };
    if (child.exitCode !== null || child.signalCode !== null) {
      return done();
    }
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      done();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts a Heliograph node on `core`, on a free loopback port, with its own data directory.
 * `extra` flags are appended (the cross-node scenario passes `--redis`).
 */
export async function startHeliograph(secret: string, core = 0, extra: string[] = []): Promise<RunningServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'heliograph-bench-'));
  const child = pinned(
    core,
    [
      process.execPath,
      // BENCH_PROFILE=<dir>: each Heliograph server writes a CPU profile there when it stops
      // (gracefully, so without the drain that would outlast stopChild's patience).
      ...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []),
      serverCli,
      'serve',
      ...(process.env.BENCH_PROFILE ? ['--drain.timeout-ms=0'] : []),
      '--port=0',
      `--data-dir=${dataDir}`,
      '--log.level=info',
      '--demo.enabled=false',
      // The bench measures relaying, not abuse protection: rate limits and caps out of the way.
      '--limits.messages-per-second=10000000',
      '--limits.message-burst=10000000',
      '--limits.user-messages-per-second=10000000',
      '--limits.user-message-burst=10000000',
      '--limits.address-messages-per-second=10000000',
      '--limits.address-message-burst=10000000',
      '--limits.max-connections=20000',
      // Every generated client comes from 127.0.0.1: no per-address admission limits either.
      '--limits.upgrades-per-second-per-address=1000000',
      '--limits.upgrade-burst-per-address=1000000',
      '--limits.max-pending-upgrades-per-address=100000',
      '--limits.max-pending-upgrades=100000',
      '--limits.max-buffered-bytes=16777216',
      '--rooms.max-peers=1000',
      ...extra,
    ],
    { HELIOGRAPH_AUTH_JWT_SECRET: secret },
  );
  const removeData = () => rmSync(dataDir, { recursive: true, force: true });
  try {
    const match = await waitFor(child, /serving on http:\/\/127\.0\.0\.1:(\d+)/, 'heliograph');
    return { pid: child.pid!, port: Number(match[1]), close: () => stopChild(child, removeData) };
  } catch (err) {
    await stopChild(child, removeData);
    throw err;
  }
}

/** Starts one server to measure, on core 0, on a free loopback port. */
export async function startTarget(name: TargetName, secret: string): Promise<RunningServer> {
  if (name === 'heliograph') {
    return startHeliograph(secret);
  }
  const script = { floor: 'floor-relay.js', peerjs: 'peerjs-server.js', socketio: 'socketio-relay.js' }[name];
  const child = pinned(0, [process.execPath, join(here, script)]);
  const match = await waitFor(child, /"listening":(\d+)/, name);
  return { pid: child.pid!, port: Number(match[1]), close: () => stopChild(child) };
}

/** Runs a generator on `core` (1 by default); calls `onMark` at each MARK line; resolves with its result. */
export function runGenerator(
  target: TargetName,
  port: number,
  scenario: string,
  args: Record<string, number>,
  secret: string,
  onMark: (name: string) => void,
  core = 1,
): Promise<unknown> {
  const argv = Object.entries(args).map(([k, v]) => `${k}=${v}`);
  const child = pinned(core, [process.execPath, join(here, 'generator.js'), target, String(port), scenario, ...argv], { BENCH_SECRET: secret });
  return new Promise((resolve, reject) => {
    let stderr = '';
    let result: unknown;
    onLines(child.stdout!, (line) => {
      if (line.startsWith('MARK ')) {
        onMark(line.slice(5));
      } else if (line.startsWith('{"result"')) {
        result = (JSON.parse(line) as { result: unknown }).result;
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) =>
      code === 0 && result !== undefined ? resolve(result) : reject(new Error(`${target} ${scenario} generator failed (${code}): ${stderr}`)),
    );
  });
}
