import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serve } from '../../src/cli/serve-command.js';
import { loadConfig } from '../../src/config/load.js';
import { TestClient } from '../helpers/client.js';
import { selfSignedCertificate } from '../helpers/tls.js';
import { until } from '../helpers/wait.js';

/**
 * What a newcomer sees when `heliograph serve` starts, or cannot: the spawned command, through
 * the committed bin shim, as `npx heliograph` runs it.
 */
const BIN = fileURLToPath(new URL('../../bin/heliograph.mjs', import.meta.url));

let dir: string;
const blockers: Server[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'heliograph-startup-'));
});
afterEach(async () => {
  await Promise.all(blockers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HELIOGRAPH_') && name !== 'NO_COLOR'));
}

interface Spawned {
  out(): string;
  err(): string;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

function spawnCli(args: string[], as?: { uid: number; gid: number }): Spawned {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], ...as });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { out: () => out, err: () => err, exited, kill: (signal) => void child.kill(signal) };
}

/** Runs a start that must fail, and checks that it failed as one line on stderr, without a stack. */
async function failedStart(args: string[], as?: { uid: number; gid: number }): Promise<string> {
  const run = spawnCli(['serve', '--port', '0', '--data-dir', ':memory:', ...args], as);
  const code = await run.exited;
  expect(code, run.err()).toBe(1);
  expect(run.out()).not.toContain('Heliograph serving on');
  const lines = run.err().split('\n');
  expect(lines, run.err()).toHaveLength(2);
  expect(lines[1]).toBe('');
  expect(lines[0]).toMatch(/^heliograph: /);
  return lines[0] ?? '';
}

/** A port something else listens on, held until the test ends. */
async function busyPort(): Promise<number> {
  const server = createServer();
  blockers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** A port nothing listens on (free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The `msg` of every complete JSON log line so far. */
function messages(out: string): string[] {
  return out
    .split('\n')
    .slice(0, -1) // the text after the last newline is a line still being written
    .filter((line) => line.startsWith('{'))
    .map((line) => (JSON.parse(line) as { msg: string }).msg);
}

/** Waits for the "serving on" line and the summary line starting with `last`; resolves with the URL. */
async function started(run: Spawned, last = 'Data directory:'): Promise<string> {
  await until(() => run.out().includes('Heliograph serving on') || run.err() !== '', 15_000, 'the server to listen');
  const url = /"url":"(http:\/\/[^"]+)"/.exec(run.out())?.[1];
  if (!url) {
    throw new Error(`the server did not start:\n${run.out()}${run.err()}`);
  }
  await until(() => messages(run.out()).some((msg) => msg.startsWith(last)), 5000, `the summary line "${last}"`);
  return url;
}

async function stop(run: Spawned): Promise<void> {
  run.kill('SIGTERM');
  expect(await run.exited).toBe(0);
}

describe('the bin shim', () => {
  it('says to build when dist/ is missing, in one line', async () => {
    // npm links the shim before `prepare` builds dist/; run before the build, it must say so.
    mkdirSync(join(dir, 'bin'));
    copyFileSync(BIN, join(dir, 'bin', 'heliograph.mjs'));
    const child = spawn(process.execPath, [join(dir, 'bin', 'heliograph.mjs'), '--version'], { cwd: dir, env: cleanEnv() });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(1);
    expect(err).toBe(`heliograph: ${join(dir, 'dist', 'cli', 'main.js')} is not built yet: run \`npm run build\` in the checkout\n`);
  });
});

describe('a start-up failure is one line naming the setting, exit 1, no stack', () => {
  it('port in use', async () => {
    const port = await busyPort();
    expect(await failedStart(['--port', String(port)])).toBe(
      `heliograph: port: 127.0.0.1:${port} is already in use; stop what listens there, or choose another port with --port (0 picks a free one)`,
    );
  });

  it('a Pixel Streaming port in use', async () => {
    const port = await busyPort();
    const ps = ['--pixel-streaming.enabled', '--pixel-streaming.streamer-port', '0', '--pixel-streaming.sfu-port', '0'];
    expect(await failedStart([...ps, '--pixel-streaming.streamer-port', String(port)])).toBe(
      `heliograph: pixelStreaming.streamerPort: 127.0.0.1:${port} is already in use; stop what listens there, or choose another port with --pixel-streaming.streamer-port (0 picks a free one)`,
    );
    expect(await failedStart([...ps, '--pixel-streaming.sfu-port', String(port)])).toMatch(
      new RegExp(`^heliograph: pixelStreaming\\.sfuPort: 127\\.0\\.0\\.1:${port} is already in use; .* --pixel-streaming\\.sfu-port `),
    );
  });

  it('a TLS certificate or key file missing, unreadable, not PEM, or not a pair', async () => {
    writeFileSync(join(dir, 'junk.pem'), 'not a certificate\n');
    mkdirSync(join(dir, 'a-directory.pem'));
    const a = selfSignedCertificate();
    const b = selfSignedCertificate();
    try {
      expect(await failedStart(['--tls.cert', 'missing.pem', '--tls.key', a.key])).toBe(
        `heliograph: tls.cert: cannot read ${join(dir, 'missing.pem')}: no such file or directory (ENOENT); set --tls.cert to a readable PEM certificate file`,
      );
      expect(await failedStart(['--tls.cert', a.cert, '--tls.key', 'missing-key.pem'])).toBe(
        `heliograph: tls.key: cannot read ${join(dir, 'missing-key.pem')}: no such file or directory (ENOENT); set --tls.key to a readable PEM private key file`,
      );
      expect(await failedStart(['--tls.cert', 'a-directory.pem', '--tls.key', a.key])).toBe(
        `heliograph: tls.cert: cannot read ${join(dir, 'a-directory.pem')}: is a directory (EISDIR); set --tls.cert to a readable PEM certificate file`,
      );
      expect(await failedStart(['--tls.cert', 'junk.pem', '--tls.key', a.key])).toMatch(
        /^heliograph: tls\.cert: .*junk\.pem holds no PEM certificate \(.+\); set --tls\.cert to a PEM certificate \(chain\)$/,
      );
      expect(await failedStart(['--tls.cert', a.cert, '--tls.key', 'junk.pem'])).toMatch(
        /^heliograph: tls\.key: .*junk\.pem holds no usable PEM private key \(.+\); set --tls\.key to the unencrypted PEM private key of tls\.cert$/,
      );
      const mismatch = await failedStart(['--tls.cert', a.cert, '--tls.key', b.key]);
      expect(mismatch.startsWith(`heliograph: tls.key: ${b.key} is not the private key of ${a.cert} (`)).toBe(true);
      expect(mismatch).toMatch(/key values mismatch\); set --tls\.key to the private key of tls\.cert$/);
    } finally {
      a.remove();
      b.remove();
    }
  });

  it('a data directory that cannot be created or written', async () => {
    writeFileSync(join(dir, 'a-file'), '');
    const fix = 'set --data-dir to a directory this user can create and write, or to :memory: to keep nothing on disk';
    expect(await failedStart(['--data-dir', 'a-file/data'])).toBe(
      `heliograph: dataDir: cannot create ${join(dir, 'a-file', 'data')}: a part of the path is not a directory (ENOTDIR); ${fix}`,
    );
    expect(await failedStart(['--data-dir', 'a-file'])).toBe(
      `heliograph: dataDir: cannot create ${join(dir, 'a-file')}: a file is in the way (EEXIST); ${fix}`,
    );
    // The database file cannot be created in it (root ignores directory permissions, so block it with a directory).
    mkdirSync(join(dir, 'blocked', 'heliograph.db'), { recursive: true });
    expect(await failedStart(['--data-dir', 'blocked'])).toBe(
      `heliograph: dataDir: cannot open the database ${join(dir, 'blocked', 'heliograph.db')}: unable to open database file; ${fix}`,
    );
  });

  it('a data directory this user may not write in', async () => {
    mkdirSync(join(dir, 'read-only'), { mode: 0o500 });
    // Root ignores directory permissions (CI runs as root): there the node runs as nobody.
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
    if (asNobody) {
      chmodSync(dir, 0o755);
    }
    expect(await failedStart(['--data-dir', 'read-only'], asNobody)).toMatch(
      /^heliograph: dataDir: cannot write in .*read-only: permission denied \(EACCES\); /,
    );
  });

  it('Redis unreachable, without printing the password of its URL', async () => {
    const port = await closedPort();
    const run = spawnCli(['serve', '--port', '0', '--data-dir', ':memory:', '--redis', `redis://:s3cret-pass@127.0.0.1:${port}`]);
    expect(await run.exited).toBe(1);
    expect(run.err()).toMatch(
      new RegExp(
        `^heliograph: redis\\.url: cannot reach Redis at redis://:\\[redacted\\]@127\\.0\\.0\\.1:${port} \\(.+\\); start Redis there, correct --redis\\.url, or leave it unset for a one-node service\\n$`,
      ),
    );
    expect(run.out() + run.err()).not.toContain('s3cret-pass');
  });
});

describe('the start-up summary', () => {
  it('names the URL, WebSocket path, demo, open sign-up, control API, data directory and the secret generated there', async () => {
    const run = spawnCli(['--port', '0', '--data-dir', 'data']);
    const url = await started(run);
    const data = join(dir, 'data');
    expect(messages(run.out())).toEqual(
      expect.arrayContaining([
        `Heliograph serving on ${url}`,
        `WebSocket endpoint: ${url.replace('http', 'ws')}/ws`,
        `Demo app: ${url}/ (open it in two browser windows and sign up as two users to try a call)`,
        'Sign-up is open: anyone who can reach this server may create an account (POST /v1/auth/signup); close it with --auth.signup false',
        `Control API at ${url}/v1: no API key yet, so every call is refused; create one with \`npx heliograph keys create --scope read-write\``,
        `Data directory: ${data}; generated a new signing secret in ${join(data, 'jwt-secret')} (keep it private: it signs every token)`,
      ]),
    );
    await stop(run);

    const again = spawnCli([
      '--port',
      '0',
      '--data-dir',
      'data',
      '--auth.signup',
      'false',
      '--pixel-streaming.enabled',
      '--pixel-streaming.streamer-port',
      '0',
      '--pixel-streaming.sfu-port',
      '0',
    ]);
    const url2 = await started(again, 'Pixel Streaming:');
    const lines = messages(again.out());
    expect(lines).toContain(`Data directory: ${data}; signing secret from ${join(data, 'jwt-secret')}`);
    expect(lines).toContain('Sign-up is closed (auth.signup): add accounts with `npx heliograph users add <username>`');
    expect(lines.find((l) => l.startsWith('Pixel Streaming: '))).toMatch(
      new RegExp(
        `^Pixel Streaming: players on ${url2.replace('http', 'ws')} \\(any path but /ws\\), streamers on ws://127\\.0\\.0\\.1:\\d+, SFUs on ws://127\\.0\\.0\\.1:\\d+$`,
      ),
    );
    await stop(again);
  });
});

describe('--data-dir :memory:', () => {
  it('keeps nothing on disk, says that tokens die with the process, and serves sign-up, login and joins', async () => {
    const run = spawnCli(['--port', '0', '--data-dir', ':memory:']);
    const url = await started(run);
    expect(messages(run.out())).toContain(
      'Data directory: none (:memory:): accounts and webhook events are lost at exit, and the signing secret was generated in memory and is not persisted: tokens die with the process',
    );
    const post = (path: string, body: unknown) =>
      fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/v1/auth/signup', { username: 'mem', password: 'mem-password' })).status).toBe(200);
    const login = await post('/v1/auth/login', { username: 'mem', password: 'mem-password' });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    const client = await TestClient.open(`${url.replace('http', 'ws')}/ws`, token);
    expect((await client.ok('room.join', { room: 'scratch' })).peer).toMatchObject({ userId: 'mem' });
    await client.close();
    await stop(run);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('is refused by the users and token commands, which would work on a database and secret of their own', async () => {
    const add = spawnCli(['users', 'add', 'alice', '--password-stdin', '--data-dir', ':memory:']);
    expect(await add.exited).toBe(2);
    expect(add.err()).toBe('heliograph: dataDir: :memory: holds no accounts, and any change would be lost at exit; give the server’s --data-dir\n');
    const token = spawnCli(['token', '--user', 'u', '--room', 'r', '--data-dir', ':memory:']);
    expect(await token.exited).toBe(2);
    expect(token.err()).toMatch(/^heliograph: dataDir: :memory: keeps no signing secret, so no server would accept this token; /);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('log format', () => {
  /** Serves in-process with stdout a terminal or not, and returns what it wrote until it listened. */
  async function firstLines(argv: string[], stdout: { isTTY: boolean; colors?: boolean }): Promise<string> {
    const loaded = loadConfig({ argv: ['--port', '0', '--data-dir', ':memory:', '--log.level', 'info', ...argv], env: {}, cwd: dir });
    if ('errors' in loaded) {
      throw new Error(loaded.errors.join('\n'));
    }
    let out = '';
    const stream = Object.assign(new PassThrough(), { isTTY: stdout.isTTY });
    stream.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const shutdown = new AbortController();
    const io = { stdout: stream, stderr: new PassThrough(), stdin: new PassThrough(), isTTY: false, colors: stdout.colors ?? false };
    const served = serve({ args: { positionals: [], options: {} }, config: loaded.config, io, signal: shutdown.signal });
    await until(() => out.includes('Data directory:'), 10_000, 'the start-up summary');
    shutdown.abort();
    expect(await served).toBe(0);
    return out;
  }

  it('is text for people on a terminal (coloured unless NO_COLOR), JSON lines otherwise, and log.format overrides', async () => {
    const tty = await firstLines([], { isTTY: true });
    expect(tty).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: /m);
    expect(tty).toMatch(/INFO: Heliograph serving on http:\/\/127\.0\.0\.1:\d+\n/);
    expect(tty).not.toMatch(/^\{/m);
    expect(tty).not.toContain('\u001b[');
    expect(await firstLines([], { isTTY: true, colors: true })).toContain('\u001b[');

    const piped = await firstLines([], { isTTY: false });
    expect(
      piped
        .split('\n')
        .filter(Boolean)
        .every((line) => line.startsWith('{')),
    ).toBe(true);

    expect((await firstLines(['--log.format', 'json'], { isTTY: true })).split('\n')[0]).toMatch(/^\{"level":30,/);
    expect(await firstLines(['--log.format', 'pretty'], { isTTY: false })).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: /);
  });
});
