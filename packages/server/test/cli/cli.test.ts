import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { jwtVerify } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CliError, type CliIo, type CommandArgs } from '../../src/cli/command.js';
import { runCli } from '../../src/cli/run-cli.js';
import { serve } from '../../src/cli/serve-command.js';
import { parseTtl, token } from '../../src/cli/token-command.js';
import { usersAdd, usersList, usersRemove } from '../../src/cli/users-command.js';
import { describeConfig, loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { loadOrCreateSecret } from '../../src/storage/secret.js';
import { untilPrinted } from '../helpers/wait.js';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const SECRET = 'a-secret-of-at-least-thirty-two-chars';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'heliograph-cli-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment of the test run, minus any HELIOGRAPH_* setting, plus `env`. */
function cleanEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HELIOGRAPH_')));
  return { ...base, ...env };
}

/** Runs the built bin as a real process, in the temp dir. */
function runBin(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: cleanEnv(options.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

interface TestIo {
  io: CliIo;
  stdin: PassThrough & { setRawMode: ReturnType<typeof vi.fn> };
  out(): string;
  err(): string;
  /** Resolves once stdout (`out`) or stderr (`err`) includes `text`, checked on each write. */
  printed(where: 'out' | 'err', text: string): Promise<void>;
}

function testIo(options: { input?: string; isTTY?: boolean } = {}): TestIo {
  let out = '';
  let err = '';
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const stdin = Object.assign(new PassThrough(), { setRawMode: vi.fn() });
  if (options.input !== undefined) {
    stdin.end(options.input);
  }
  const printed = (where: 'out' | 'err', text: string) => (where === 'out' ? untilPrinted(stdout, () => out, text) : untilPrinted(stderr, () => err, text));
  return { io: { stdout, stderr, stdin, isTTY: options.isTTY ?? false }, stdin, out: () => out, err: () => err, printed };
}

function testConfig(argv: string[] = []): Config {
  const result = loadConfig({ argv: ['--data-dir', join(dir, 'data'), '--log.level', 'silent', ...argv], env: {}, cwd: dir });
  if ('errors' in result) {
    throw new Error(result.errors.join('\n'));
  }
  return result.config;
}

function args(positionals: string[] = [], options: CommandArgs['options'] = {}): CommandArgs {
  return { positionals, options };
}

describe('the heliograph process', () => {
  beforeAll(() => {
    if (!existsSync(BIN)) {
      throw new Error(`${BIN} is missing: run \`npx tsc -b\` first`);
    }
  });

  it('prints help for every level and exits 0', async () => {
    const top = await runBin(['--help']);
    expect(top).toMatchObject({ code: 0, stderr: '' });
    expect(top.stdout).toContain('Usage: heliograph [command] [options]');
    for (const command of [
      'serve',
      'dev',
      'users add <username>',
      'users remove <username>',
      'users list',
      'token',
      'keys create',
      'keys list',
      'keys revoke <id>',
    ]) {
      expect(top.stdout).toContain(`heliograph ${command}`);
    }
    expect((await runBin(['-h'])).stdout).toBe(top.stdout);

    const users = await runBin(['users', '--help']);
    expect(users).toMatchObject({ code: 0 });
    expect(users.stdout).toContain('Usage: heliograph users <command>');

    const add = await runBin(['users', 'add', '-h']);
    expect(add.code).toBe(0);
    expect(add.stdout).toContain('--password-stdin');

    const tokenHelp = await runBin(['token', '--help']);
    expect(tokenHelp.stdout).toContain('--no-create');

    const serveHelp = await runBin(['serve', '--help']);
    for (const row of describeConfig()) {
      expect(serveHelp.stdout).toContain(row.env);
      expect(serveHelp.stdout).toContain(`${row.flag} `);
    }
    expect(serveHelp.stdout).toContain('HELIOGRAPH_AUTH_JWT_SECRET_FILE');
  });

  it('prints the version', async () => {
    expect(await runBin(['--version'])).toMatchObject({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  it('exits 2 with every configuration error at once', async () => {
    const run = await runBin(['token', '--user', 'u', '--room', 'r', '--rooms.max-peers', '0', '--nope', '--tls.cert', 'c.pem'], {
      env: { HELIOGRAPH_PORT: '70000', HELIOGRAPH_LIMITS_MAX_FRAME_BYTES: 'big', HELIOGRAPH_TYPO: '1' },
    });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n')).toEqual([
      'heliograph: invalid configuration:',
      '  limits.maxFrameBytes: must be an integer, got "big" (from HELIOGRAPH_LIMITS_MAX_FRAME_BYTES)',
      '  HELIOGRAPH_TYPO: unknown environment variable',
      '  --nope: unknown flag',
      '  port: must be <= 65535 (from HELIOGRAPH_PORT)',
      '  rooms.maxPeers: must be >= 1 (from --rooms.max-peers)',
      '  tls.key: is required when tls.cert is set (tls.cert from --tls.cert)',
      '',
    ]);
  });

  it('refuses a token lifetime over auth.maxTokenTtlSeconds, in --ttl and in the configuration', async () => {
    expect(await runBin(['token', '--user', 'u', '--room', 'r', '--ttl', '2d', '--data-dir', 'data'])).toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'heliograph: --ttl 2d is longer than auth.maxTokenTtlSeconds (86400 s); Heliograph would refuse the token\n',
    });
    const run = await runBin(['serve', '--port', '0', '--auth.token-ttl-seconds', '7200'], { env: { HELIOGRAPH_AUTH_MAX_TOKEN_TTL_SECONDS: '3600' } });
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')).toEqual([
      'heliograph: invalid configuration:',
      '  auth.tokenTtlSeconds: must be <= auth.maxTokenTtlSeconds, 7200 > 3600 (from --auth.token-ttl-seconds; auth.maxTokenTtlSeconds from HELIOGRAPH_AUTH_MAX_TOKEN_TTL_SECONDS)',
      '',
    ]);
  });

  it('exits 2 on an unknown command, a missing argument or a bad option', async () => {
    expect(await runBin(['launch'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "launch"') as string });
    expect(await runBin(['users', 'add'])).toMatchObject({ code: 2, stderr: expect.stringContaining('missing <username>') as string });
    expect((await runBin(['users'])).code).toBe(2);
    expect(await runBin(['token', '--room'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--room needs a value') as string });
    expect(await runBin(['token', '--room', 'r', '--data-dir', 'd'])).toMatchObject({
      code: 2,
      stderr: "heliograph: --user is required\nRun 'heliograph token --help' for usage.\n",
    });
  });

  it('prints only the token, so that $(heliograph token …) works', async () => {
    const run = await runBin(['token', '--user', 'alice', '--room', 'demo', '--ttl', '30m', '--data-dir', 'data']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const secret = new TextEncoder().encode(loadOrCreateSecret(join(dir, 'data')));
    const { payload } = await jwtVerify(run.stdout.trim(), secret);
    expect(payload.sub).toBe('alice');
  });

  it('adds, lists and removes users with the password on stdin', async () => {
    const add = await runBin(['users', 'add', 'alice', '--name', 'Alice', '--data-dir', 'data'], { input: 'password123\n' });
    expect(add).toMatchObject({ code: 0, stdout: 'Added user alice\n' });
    const list = await runBin(['users', 'list', '--json'], { env: { HELIOGRAPH_DATA_DIR: 'data' } });
    expect(JSON.parse(list.stdout)).toEqual([{ username: 'alice', displayName: 'Alice', createdAt: expect.any(Number) as number }]);
    expect(await runBin(['users', 'remove', 'alice', '--data-dir', 'data'])).toMatchObject({ code: 0 });
    expect(await runBin(['users', 'remove', 'alice', '--data-dir', 'data'])).toMatchObject({
      code: 1,
      stderr: 'heliograph: no user named "alice"\n',
    });
  });

  it('serves until SIGTERM, then closes and exits 0', async () => {
    const child = spawn(process.execPath, [BIN, '--port', '0', '--data-dir', 'data'], { cwd: dir, env: cleanEnv() });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await untilPrinted(child.stdout, () => stdout, 'Heliograph serving on', 15_000);
    const url = /serving on (\S+)"/.exec(stdout)?.[1];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toContain('"msg":"stopped"');
  });
});

describe('users commands, in-process', () => {
  it('adds a user with a password from stdin, lists it as a table and as JSON, removes it', async () => {
    const config = testConfig();
    const add = testIo({ input: 'password123\n' });
    expect(await usersAdd({ args: args(['alice'], { name: 'Alice Liddell' }), config, io: add.io })).toBe(0);
    expect(add.out()).toBe('Added user alice\n');

    const table = testIo();
    expect(await usersList({ args: args(), config, io: table.io })).toBe(0);
    const [header, row, ...rest] = table.out().split('\n');
    expect(header).toMatch(/^USERNAME +NAME +CREATED$/);
    expect(row).toMatch(/^alice +Alice Liddell +\d{4}-\d\d-\d\dT/);
    expect(rest).toEqual(['']);

    const json = testIo();
    await usersList({ args: args([], { json: true }), config, io: json.io });
    expect(JSON.parse(json.out())).toEqual([{ username: 'alice', displayName: 'Alice Liddell', createdAt: expect.any(Number) as number }]);

    const remove = testIo();
    expect(await usersRemove({ args: args(['alice']), config, io: remove.io })).toBe(0);
    expect(remove.out()).toBe('Removed user alice\n');
    await expect(usersRemove({ args: args(['alice']), config, io: testIo().io })).rejects.toThrow(CliError);

    const empty = testIo();
    await usersList({ args: args(), config, io: empty.io });
    expect(empty.out()).toBe('');
    expect(empty.err()).toContain('No users yet');
  });

  it('refuses a taken username and a bad password with the store’s errors', async () => {
    const config = testConfig();
    await usersAdd({ args: args(['bob']), config, io: testIo({ input: 'password123\n' }).io });
    await expect(usersAdd({ args: args(['bob']), config, io: testIo({ input: 'password456\n' }).io })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    await expect(usersAdd({ args: args(['carol']), config, io: testIo({ input: 'short\n' }).io })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(usersAdd({ args: args(['dave']), config, io: testIo({ input: '' }).io })).rejects.toThrow('no input on stdin');
  });

  it('reads only the first line of stdin, with or without a line ending', async () => {
    const config = testConfig();
    await usersAdd({ args: args(['erin']), config, io: testIo({ input: 'first-line-pw\r\nsecond\n' }).io });
    await usersAdd({ args: args(['frank']), config, io: testIo({ input: 'no-newline-pw' }).io });
    const list = testIo();
    await usersList({ args: args([], { json: true }), config, io: list.io });
    expect((JSON.parse(list.out()) as { username: string }[]).map((a) => a.username).sort()).toEqual(['erin', 'frank']);
  });

  it('on a terminal, asks twice without echo and refuses passwords that differ', async () => {
    const config = testConfig();
    const tty = testIo({ isTTY: true });
    const typing = (async () => {
      await tty.printed('err', 'Password: ');
      tty.stdin.write('s3cret-pass');
      tty.stdin.write('\u007fs\r');
      await tty.printed('err', 'Repeat the password: ');
      tty.stdin.write('s3cret-pass\r');
    })();
    expect(await usersAdd({ args: args(['grace']), config, io: tty.io })).toBe(0);
    await typing;
    expect(tty.stdin.setRawMode.mock.calls).toEqual([[true], [false], [true], [false]]);
    expect(tty.err()).not.toContain('s3cret');

    const mismatch = testIo({ isTTY: true });
    const typo = (async () => {
      await mismatch.printed('err', 'Password: ');
      mismatch.stdin.write('password-one\r');
      await mismatch.printed('err', 'Repeat');
      mismatch.stdin.write('password-two\r');
    })();
    await expect(usersAdd({ args: args(['heidi']), config, io: mismatch.io })).rejects.toThrow('the passwords do not match');
    await typo;

    const cancelled = testIo({ isTTY: true });
    void cancelled.printed('err', 'Password: ').then(() => cancelled.stdin.write('\u0003'));
    await expect(usersAdd({ args: args(['ivan']), config, io: cancelled.io })).rejects.toMatchObject({ exitCode: 130 });
  });

  it('with --password-stdin reads stdin even on a terminal', async () => {
    const config = testConfig();
    const io = testIo({ input: 'password123\n', isTTY: true });
    expect(await usersAdd({ args: args(['judy'], { 'password-stdin': true }), config, io: io.io })).toBe(0);
    expect(io.stdin.setRawMode).not.toHaveBeenCalled();
  });
});

describe('token command, in-process', () => {
  it('mints a token with the configured secret, grants and lifetime', async () => {
    const config = testConfig(['--auth.jwt-secret', SECRET, '--auth.issuer', 'heliograph-test']);
    const io = testIo();
    const options = { user: 'alice', room: 'team-*', ttl: '1h', name: 'Alice', 'no-create': true };
    expect(await token({ args: args([], options), config, io: io.io })).toBe(0);
    expect(io.err()).toBe('');
    const { payload } = await jwtVerify(io.out().trim(), new TextEncoder().encode(SECRET), { issuer: 'heliograph-test' });
    expect(payload).toMatchObject({ sub: 'alice', name: 'Alice', grants: [{ room: 'team-*', join: true, create: false }] });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);
  });

  it('defaults to the secret under dataDir, create rights and auth.tokenTtlSeconds', async () => {
    const config = testConfig(['--auth.token-ttl-seconds', '120']);
    const io = testIo();
    await token({ args: args([], { user: 'bob', room: 'demo' }), config, io: io.io });
    const secret = new TextEncoder().encode(loadOrCreateSecret(config.dataDir));
    const { payload } = await jwtVerify(io.out().trim(), secret);
    expect(payload).toMatchObject({ sub: 'bob', grants: [{ room: 'demo', join: true, create: true }] });
    expect(payload.name).toBeUndefined();
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(120);
  });

  it('refuses a --ttl over auth.maxTokenTtlSeconds with a usage error, and mints up to it', async () => {
    const config = testConfig(['--auth.jwt-secret', SECRET, '--auth.token-ttl-seconds', '600', '--auth.max-token-ttl-seconds', '1800']);
    const io = testIo();
    await expect(token({ args: args([], { user: 'u', room: 'r', ttl: '31m' }), config, io: io.io })).rejects.toEqual(
      new CliError('--ttl 31m is longer than auth.maxTokenTtlSeconds (1800 s); Heliograph would refuse the token', 2),
    );
    expect(io.out()).toBe('');
    expect(await token({ args: args([], { user: 'u', room: 'r', ttl: '30m' }), config, io: io.io })).toBe(0);
    const { payload } = await jwtVerify(io.out().trim(), new TextEncoder().encode(SECRET));
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(1800);
  });

  it('parses durations', () => {
    expect([parseTtl('3600'), parseTtl('90s'), parseTtl('30m'), parseTtl('1h'), parseTtl('7d')]).toEqual([3600, 90, 1800, 3600, 604_800]);
    for (const bad of ['', '0', '-5', '1.5h', '1w', 'soon']) {
      expect(() => parseTtl(bad)).toThrow(expect.objectContaining({ exitCode: 2 }) as Error);
    }
  });
});

describe('runCli, in-process', () => {
  function cli(argv: string[], io = testIo()) {
    return runCli({ argv, env: {}, cwd: dir, io: io.io, version: '9.9.9' }).then((code) => ({ code, out: io.out(), err: io.err() }));
  }

  it('routes users and token commands, with config flags among their own', async () => {
    const added = await cli(['users', 'add', '--data-dir', 'data', 'kim', '--name=Kim'], testIo({ input: 'password123\n' }));
    expect(added).toMatchObject({ code: 0, out: 'Added user kim\n' });
    expect((await cli(['users', 'list', '--json', '--data-dir', 'data'])).out).toContain('"displayName": "Kim"');
    expect(await cli(['users', 'add', 'kim', '--data-dir', 'data'], testIo({ input: 'password123\n' }))).toMatchObject({
      code: 1,
      err: expect.stringContaining('heliograph: ') as string,
    });
    expect(await cli(['token', '--user', 'kim', '--room', 'r', '--ttl', 'forever', '--data-dir', 'data'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--ttl must be a positive duration') as string,
    });
    expect((await cli(['--version'])).out).toBe('9.9.9\n');
  });

  it('serves until the signal aborts', async () => {
    const shutdown = new AbortController();
    const io = testIo();
    const config = testConfig(['--port', '0', '--log.level', 'info']);
    const served = serve({ args: args(), config, io: io.io, signal: shutdown.signal });
    await io.printed('out', 'Heliograph serving on');
    shutdown.abort();
    expect(await served).toBe(0);
    expect(io.out()).toContain('"msg":"stopped"');
  });
});
