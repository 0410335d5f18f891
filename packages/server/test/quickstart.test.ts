import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The README's walk-through, done as a new user would, with the built CLI as separate processes:
 * add users, start the server, log in, mint a token, and join a room with examples/join-room.mjs.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'packages/server/dist/cli/main.js');
const example = join(root, 'examples/join-room.mjs');

let dataDir: string;
let server: ChildProcess | undefined;
let base = '';

function run(cmd: string, args: string[], input?: string, env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, HELIOGRAPH_DATA_DIR: dataDir, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'heliograph-quickstart-'));
  for (const [user, password] of [
    ['alice', 'alice-password'],
    ['bob', 'bob-password'],
  ] as const) {
    const added = await run('node', [cli, 'users', 'add', user, '--password-stdin'], `${password}\n`);
    expect(added.code, added.stderr).toBe(0);
  }
  server = spawn('node', [cli, 'serve', '--port', '0'], { cwd: root, env: { ...process.env, HELIOGRAPH_DATA_DIR: dataDir } });
  base = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 15_000);
    server!.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    server!.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  });
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe('quick start, as a new user', () => {
  it('runs `npx heliograph` and `npm exec heliograph` in the checkout right after `npm ci`', async () => {
    // The bin is linked by `npm ci` (packages/server/bin/heliograph.mjs), not resolved to the root package.
    const version = (JSON.parse(readFileSync(join(root, 'packages/server/package.json'), 'utf8')) as { version: string }).version;
    const npx = await run('npx', ['--no-install', 'heliograph', '--version']);
    expect(npx, npx.stderr).toMatchObject({ code: 0, stdout: `${version}\n` });
    const exec = await run('npm', ['exec', '--no', 'heliograph', '--', '--help']);
    expect(exec.code, exec.stderr).toBe(0);
    expect(exec.stdout).toContain('Usage: heliograph [command] [options]');
  });

  it('lists the users that were added', async () => {
    const listed = await run('node', [cli, 'users', 'list', '--json']);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as Array<{ username: string }>).map((u) => u.username).sort()).toEqual(['alice', 'bob']);
  });

  it('health and readiness answer', async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('login gives a token; a wrong password is 401', async () => {
    const ok = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { token: string }).token).toMatch(/^eyJ/);
    const bad = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'wrong-password' }),
    });
    expect(bad.status).toBe(401);
  });

  it('two users join a room with the example script and a signal is delivered', async () => {
    const first = spawn('node', [example, 'alice', 'alice-password', 'demo', base], { cwd: root });
    let aliceOut = '';
    first.stdout.on('data', (d: Buffer) => (aliceOut += d.toString()));
    await new Promise<void>((resolve) => first.stdout.on('data', () => aliceOut.includes('joined demo') && resolve()));
    const second = await run('node', [example, 'bob', 'bob-password', 'demo', base], undefined, { EXIT_AFTER_JOIN: '1' });
    expect(second.stdout).toMatch(/joined demo as PR_\S+; peers here: 1/);
    expect(second.stdout).toMatch(/signal to PR_\S+: delivered/);
    await new Promise<void>((resolve) => {
      const check = () => (aliceOut.includes('"hello":"from bob"') ? resolve() : setTimeout(check, 20));
      check();
    });
    expect(aliceOut).toContain('"type":"peer.joined"');
    first.kill();
  });

  it('a token minted with `heliograph token` joins its room and no other', async () => {
    const minted = await run('node', [cli, 'token', '--user', 'carol', '--room', 'demo', '--ttl', '10m']);
    expect(minted.code, minted.stderr).toBe(0);
    const token = minted.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws?token=${token}`);
    const replies: Array<{ id: number; ok: boolean; error?: { code: string } }> = [];
    ws.on('message', (m) => {
      const frame = JSON.parse(String(m)) as { id?: number; ok: boolean };
      if (frame.id !== undefined) {
        replies.push(frame as (typeof replies)[number]);
      }
    });
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ id: 1, type: 'room.join', data: { room: 'elsewhere' } }));
    ws.send(JSON.stringify({ id: 2, type: 'room.join', data: { room: 'demo' } }));
    await new Promise<void>((resolve) => {
      const check = () => (replies.length === 2 ? resolve() : setTimeout(check, 10));
      check();
    });
    expect(replies[0]).toMatchObject({ id: 1, ok: false, error: { code: 'FORBIDDEN' } });
    expect(replies[1]).toMatchObject({ id: 2, ok: true });
    ws.close();
  });
});
