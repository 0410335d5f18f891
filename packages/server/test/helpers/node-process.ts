import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RoomGrant } from '@heliograph/protocol';
import { systemClock } from '@heliograph/common';
import { TokenSigner } from '../../src/auth/token-signer.js';
import { PROCESS_ERROR_KINDS } from '../../src/shared/process-errors.js';
import { TEST_SECRET } from './server.js';
import { until } from './wait.js';

/**
 * The `heliograph` command, as users run it (`bin/heliograph.mjs`; `npm run build` first).
 * `HELIOGRAPH_TEST_CLI` points at another build, e.g. one
 * made from a clean checkout while the work tree does not compile.
 */
const CLI = process.env.HELIOGRAPH_TEST_CLI ?? fileURLToPath(new URL('../../bin/heliograph.mjs', import.meta.url));

/** A `heliograph serve` child process with its own temporary data directory. */
export interface NodeProcess {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `ws://127.0.0.1:<port>/ws` */
  readonly wsUrl: string;
  readonly pid: number;
  /** Resolves when the process has exited, with its exit code or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the process wrote so far (JSON log lines on stdout, anything on stderr). */
  output(): string;
  /** Sends a signal (SIGTERM to drain, SIGKILL to crash). */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL unless it has exited, waits for the exit, removes the data directory. Idempotent. */
  stop(): Promise<void>;
}

/** Child processes not yet stopped: killed if the test process exits first, so none outlives it. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) {
    child.kill('SIGKILL');
  }
});

const hasExited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

/**
 * Starts `heliograph serve --port 0` with `args` (flags such as `--redis <url>`), the shared
 * TEST_SECRET and info logs, and resolves once it logs "Heliograph serving on <url>". Runs in its
 * data directory with no `HELIOGRAPH_*` variables, so nothing but `args` configures it.
 * `openFiles` starts it under `ulimit -n <openFiles>` (through bash); `nodeArgs` go to node itself (`--import …`).
 */
export async function startNode(
  args: readonly string[],
  startTimeoutMs = 15_000,
  options: { openFiles?: number; nodeArgs?: readonly string[] } = {},
): Promise<NodeProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'heliograph-node-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HELIOGRAPH_')));
  const flags = ['serve', '--port', '0', '--data-dir', dataDir, '--auth.jwt-secret', TEST_SECRET, '--log.level', 'info', ...args];
  const command = [process.execPath, ...(options.nodeArgs ?? []), CLI, ...flags];
  const child =
    options.openFiles === undefined
      ? spawn(command[0]!, command.slice(1), { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('bash', ['-c', 'ulimit -n "$1" && shift && exec "$@"', 'bash', String(options.openFiles), ...command], {
          cwd: dataDir,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  running.add(child);
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!hasExited(child)) {
        child.kill('SIGKILL');
      }
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
      failOnEscapedErrors(out);
    })();
    return stopping;
  };

  try {
    await until(() => servingUrl(out) !== undefined || hasExited(child), startTimeoutMs, 'a node to log "Heliograph serving on"');
  } catch (err) {
    await stop();
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${out}`);
  }
  const url = servingUrl(out);
  if (url === undefined) {
    await stop();
    throw new Error(`the node exited at start:\n${out}`);
  }
  return {
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}/ws`,
    pid: child.pid ?? -1,
    exited,
    output: () => out,
    signal: (signal) => void (hasExited(child) || child.kill(signal)),
    stop,
  };
}

/**
 * A node logs an exception or rejection that escaped every handler instead of dying
 * (shared/process-errors.ts); each is a bug, so the test that stops such a node fails.
 */
function failOnEscapedErrors(log: string): void {
  const escaped = log.split('\n').filter((line) => PROCESS_ERROR_KINDS.some((kind) => line.includes(`"msg":"unexpected error in ${kind}"`)));
  if (escaped.length > 0) {
    throw new Error(`the node logged ${escaped.length} escaped error(s):\n${escaped.join('\n')}`);
  }
}

/** The URL of the log line `{"url":"http://…","msg":"Heliograph serving on http://…"}`, once written. */
function servingUrl(log: string): string | undefined {
  for (const line of log.split('\n')) {
    if (!line.includes('Heliograph serving on')) {
      continue;
    }
    try {
      const entry: unknown = JSON.parse(line);
      if (entry && typeof entry === 'object' && 'url' in entry && typeof entry.url === 'string') {
        return entry.url;
      }
    } catch {
      // A line still being written: the next poll sees it whole.
    }
  }
  return undefined;
}

const signer = new TokenSigner({ secret: TEST_SECRET, clock: systemClock });

/**
 * A join token signed with TEST_SECRET, the secret every node started here shares, so it works on
 * each of them; by default it may join and create every room.
 */
export async function nodeToken(userId: string, grants: RoomGrant[] = [{ room: '*', join: true, create: true }]): Promise<string> {
  const { token } = await signer.mint({ userId, grants, ttlSeconds: 3600 });
  return token;
}
