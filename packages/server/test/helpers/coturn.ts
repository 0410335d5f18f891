import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './wait.js';

/** A coturn `turnserver` started by a test, in TURN REST API mode (`use-auth-secret`). */
export interface Coturn {
  /** Everything coturn logged so far (`-v`: one line per request). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts Debian's coturn on `ip:port` with `--use-auth-secret`, ignoring /etc/turnserver.conf
 * (`-n`), and waits until its listeners are open. `ip` must be an address of this network
 * namespace that is not loopback (coturn refuses loopback peers by default).
 */
export async function startCoturn(options: { ip: string; port: number; secret: string; realm: string }): Promise<Coturn> {
  const dir = mkdtempSync(join(tmpdir(), 'heliograph-coturn-'));
  const child: ChildProcess = spawn(
    'turnserver',
    [
      '-n',
      `--listening-ip=${options.ip}`,
      `--listening-port=${options.port}`,
      '--use-auth-secret',
      `--static-auth-secret=${options.secret}`,
      `--realm=${options.realm}`,
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--log-file=stdout',
      `--pidfile=${join(dir, 'turn.pid')}`,
      `--userdb=${join(dir, 'turndb')}`,
      '-v',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await until(() => log.includes('Total General servers') || child.exitCode !== null, 10_000, 'coturn to listen');
  } catch (err) {
    child.kill('SIGTERM');
    throw err;
  }
  if (child.exitCode !== null) {
    throw new Error(`coturn exited at start:\n${log}`);
  }
  return {
    log: () => log,
    async stop() {
      // SIGTERM, not SIGINT: a background job may ignore SIGINT.
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
      }
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
