import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { until } from '../helpers/wait.js';

/** `heliograph dev` as a newcomer runs it: the committed bin shim, a real process, an empty directory. */
const BIN = fileURLToPath(new URL('../../bin/heliograph.mjs', import.meta.url));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'heliograph-dev-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Dev {
  out(): string;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

function startDev(args: string[], env: Record<string, string> = {}): Dev {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HELIOGRAPH_')));
  const child = spawn(process.execPath, [BIN, 'dev', '--port', '0', ...args], { cwd: dir, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { out: () => out, exited, kill: (signal) => void child.kill(signal) };
}

/** The value printed after `label` in dev mode's table, up to the first space. */
function field(out: string, label: string): string {
  const value = new RegExp(`^  ${label} +(\\S+)`, 'm').exec(out)?.[1];
  if (value === undefined) {
    throw new Error(`no "${label}" in:\n${out}`);
  }
  return value;
}

describe('heliograph dev', () => {
  it('prints the demo, a test account, a read-write API key and a join token that all work, and keeps nothing', async () => {
    // A data directory from the environment is ignored: dev mode keeps nothing, anywhere.
    const dev = startDev([], { HELIOGRAPH_DATA_DIR: 'data' });
    await until(() => dev.out().includes('Ctrl-C stops it.') || dev.out().includes('heliograph:'), 15_000, 'dev mode to be ready');
    const out = dev.out();
    expect(out).toContain('Heliograph dev mode: FOR DEVELOPMENT ONLY. Everything is in memory and lost at exit');
    // Text logs for people, even piped.
    expect(out).toMatch(/^\[[\d:.]+\] INFO: Heliograph serving on http:\/\/127\.0\.0\.1:\d+$/m);
    expect(out).not.toMatch(/^\{"level"/m);
    expect(out).not.toContain('Warning: listening on');

    const demo = field(out, 'Demo app');
    const base = demo.replace(/\/$/, '');
    expect(demo).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(demo);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);

    const password = /username dev, password (\S+) /.exec(out)?.[1] ?? '';
    const login = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'dev', password }),
    });
    expect(login.status).toBe(200);

    const key = field(out, 'Control API key');
    expect(key).toMatch(/^hgk_/);
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    expect((await fetch(`${base}/v1/rooms`, { headers: auth })).status).toBe(200);
    const minted = await fetch(`${base}/v1/tokens`, { method: 'POST', headers: auth, body: JSON.stringify({ userId: 'ada', room: 'call-1' }) });
    expect(minted.status).toBe(201);

    const token = field(out, 'Join token');
    const client = await TestClient.open(field(out, 'WebSocket'), token);
    expect((await client.ok('room.join', { room: 'any-room' })).peer).toMatchObject({ userId: 'dev' });
    await client.close();

    dev.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('makes new credentials at each start, and prints no test account without built-in accounts', async () => {
    const first = startDev([]);
    await until(() => first.out().includes('Ctrl-C stops it.') || first.out().includes('heliograph:'), 15_000, 'dev mode to be ready');
    const second = startDev(['--auth.accounts', 'false']);
    await until(() => second.out().includes('Ctrl-C stops it.') || second.out().includes('heliograph:'), 15_000, 'dev mode to be ready');
    expect(field(second.out(), 'Control API key')).not.toBe(field(first.out(), 'Control API key'));
    // Without built-in accounts there is no test account to print.
    expect(second.out()).not.toContain('Test account');
    first.kill('SIGTERM');
    second.kill('SIGTERM');
    expect([await first.exited, await second.exited]).toEqual([0, 0]);
  });
});
