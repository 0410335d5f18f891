import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * `heliograph keys create|list|revoke` as real processes, beside a real server that shares their
 * data directory: a key made while the server runs works at once, and a revoked one stops at once.
 */
const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const CONFIGURED = 'configured-key-0123456789-0123456789';

let server: TestServer;
let cwd: string;
beforeAll(async () => {
  if (!existsSync(BIN)) {
    throw new Error(`${BIN} is missing: run \`npx tsc -b\` first`);
  }
  cwd = mkdtempSync(join(tmpdir(), 'heliograph-keys-'));
  server = await startServer({ controlApi: { keys: [{ id: 'ops', key: CONFIGURED, scope: 'read-write' }] } });
});
afterAll(async () => {
  await server.close();
  rmSync(cwd, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built CLI on the server's data directory and with its configured key, like an operator's shell. */
function keys(args: string[], dataDir = server.config.dataDir): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HELIOGRAPH_')));
  env.HELIOGRAPH_DATA_DIR = dataDir;
  env.HELIOGRAPH_CONTROL_API_KEYS = JSON.stringify(server.config.controlApi.keys);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'keys', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function call(method: string, path: string, key: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as { error?: { code: string; message: string } }) : undefined };
}

describe('heliograph keys, beside a running server', () => {
  it('create prints the key alone on stdout, once; the server accepts it at once with its scope', async () => {
    const rw = await keys(['create', '--scope', 'read-write', '--id', 'backend']);
    expect(rw.code, rw.stderr).toBe(0);
    expect(rw.stdout).toMatch(/^hgk_[\w-]{43}\n$/);
    expect(rw.stderr).toContain('Created API key backend (read-write); it is shown this once');
    const key = rw.stdout.trim();
    expect((await call('GET', '/v1/rooms', key)).status).toBe(200);
    expect((await call('POST', '/v1/rooms', key, { id: 'made-with-a-stored-key' })).status).toBe(201);
    // The configured key works beside it.
    expect((await call('GET', '/v1/rooms', CONFIGURED)).status).toBe(200);

    const ro = await keys(['create', '--scope', 'read', '--json']);
    expect(ro.code, ro.stderr).toBe(0);
    const made = JSON.parse(ro.stdout) as { id: string; scope: string; key: string; createdAt: number };
    expect(made).toMatchObject({ id: expect.stringMatching(/^key-[0-9a-f]{8}$/) as string, scope: 'read', createdAt: expect.any(Number) as number });
    expect((await call('GET', '/v1/rooms', made.key)).status).toBe(200);
    expect(await call('POST', '/v1/rooms', made.key, { id: 'nope' })).toEqual({
      status: 403,
      body: { error: { code: 'FORBIDDEN', message: `API key "${made.id}" is read-only` } },
    });
  });

  it('list shows ids, scopes, sources and creation times, never a key', async () => {
    const made = await keys(['create', '--scope', 'read', '--id', 'listed']);
    const list = await keys(['list']);
    expect(list.code, list.stderr).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+SCOPE\s+SOURCE\s+CREATED$/);
    expect(lines[1]).toMatch(/^ops\s+read-write\s+config\s+-$/);
    expect(lines).toContainEqual(expect.stringMatching(/^listed\s+read\s+database\s+\d{4}-\d\d-\d\dT[\d:.]+Z$/));
    expect(list.stdout).not.toContain(made.stdout.trim());
    expect(list.stdout).not.toContain(CONFIGURED);
    const json = JSON.parse((await keys(['list', '--json'])).stdout) as Array<Record<string, unknown>>;
    expect(json).toContainEqual({ id: 'ops', scope: 'read-write', source: 'config' });
    expect(json).toContainEqual({ id: 'listed', scope: 'read', source: 'database', createdAt: expect.any(Number) as number });
    expect(JSON.stringify(json)).not.toContain('hgk_');
  });

  it('revoke makes the running server refuse the key from its next request', async () => {
    const key = (await keys(['create', '--scope', 'read-write', '--id', 'short-lived'])).stdout.trim();
    expect((await call('GET', '/v1/rooms', key)).status).toBe(200);
    expect(await keys(['revoke', 'short-lived'])).toMatchObject({ code: 0, stdout: 'Revoked API key short-lived\n' });
    expect(await call('GET', '/v1/rooms', key)).toEqual({ status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'Unknown API key' } } });
    expect(await keys(['revoke', 'short-lived'])).toMatchObject({ code: 1, stderr: 'heliograph: no API key with id "short-lived"\n' });
    expect(await keys(['revoke', 'ops'])).toMatchObject({
      code: 1,
      stderr: 'heliograph: API key "ops" is in controlApi.keys, not in the database: remove it from the configuration and restart\n',
    });
    expect((await call('GET', '/v1/rooms', CONFIGURED)).status).toBe(200);
  });

  it('refuses a missing or unknown scope, a taken id, and a :memory: data directory', async () => {
    expect(await keys(['create'])).toMatchObject({
      code: 2,
      stdout: '',
      stderr: "heliograph: --scope is required\nRun 'heliograph keys create --help' for usage.\n",
    });
    expect(await keys(['create', '--scope', 'admin'])).toMatchObject({
      code: 2,
      stderr: 'heliograph: --scope must be read (GET only) or read-write, not "admin"\n',
    });
    await keys(['create', '--scope', 'read', '--id', 'taken']);
    expect(await keys(['create', '--scope', 'read', '--id', 'taken'])).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'heliograph: there is already an API key with id "taken"\n',
    });
    expect(await keys(['create', '--scope', 'read', '--id', 'ops'])).toMatchObject({
      code: 1,
      stderr: 'heliograph: controlApi.keys already has a key with id "ops"; choose another --id\n',
    });
    expect(await keys(['create', '--scope', 'read', '--id', 'not a name'])).toMatchObject({
      code: 1,
      stderr: 'heliograph: an API key id must be 1 to 64 letters, digits or any of _ . -\n',
    });
    expect(await keys(['list'], ':memory:')).toMatchObject({
      code: 2,
      stderr: 'heliograph: dataDir: :memory: holds no API keys, and any change would be lost at exit; give the server’s --data-dir\n',
    });
    expect(readdirSync(cwd)).toEqual([]);
  });
});
