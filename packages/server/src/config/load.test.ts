import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Value } from 'typebox/value';
import { CONFIG_FIELDS, configFlagLength } from './fields.js';
import { describeConfig, loadConfig, type LoadConfigInput } from './load.js';
import { ConfigSchema, type Config } from './schema.js';

const SECRET = 'a-secret-of-at-least-thirty-two-chars';
let cwd: string;

beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'heliograph-config-'));
});
afterEach(() => {
  rmSync(cwd, { recursive: true, force: true });
});

function load(input: Partial<LoadConfigInput> = {}) {
  return loadConfig({ argv: [], env: {}, cwd, ...input });
}

function ok(input: Partial<LoadConfigInput> = {}): Config {
  const result = load(input);
  if ('errors' in result) {
    throw new Error(`expected a config, got:\n${result.errors.join('\n')}`);
  }
  return result.config;
}

function errors(input: Partial<LoadConfigInput> = {}): string[] {
  const result = load(input);
  if (!('errors' in result)) {
    throw new Error('expected errors, got a config');
  }
  return result.errors;
}

function writeJson(name: string, value: unknown): string {
  const path = join(cwd, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

describe('loadConfig', () => {
  it('gives the schema defaults when nothing is set, with dataDir made absolute', () => {
    const defaults = Value.Default(ConfigSchema, {}) as Config;
    expect(ok()).toEqual({ ...defaults, dataDir: join(cwd, 'data') });
  });

  it('layers the file, then the environment, then flags', () => {
    writeJson('heliograph.config.json', { host: '0.0.0.0', port: 1000, rooms: { maxPeers: 10, emptyTimeoutMs: 5 } });
    const config = ok({
      env: { HELIOGRAPH_PORT: '2000', HELIOGRAPH_ROOMS_MAX_PEERS: '20' },
      argv: ['--port', '3000'],
    });
    expect(config.host).toBe('0.0.0.0');
    expect(config.port).toBe(3000);
    expect(config.rooms).toEqual({ maxPeers: 20, emptyTimeoutMs: 5 });
    expect(config.limits.maxFrameBytes).toBe(65_536);
  });

  it('reads the file named by --config over HELIOGRAPH_CONFIG over ./heliograph.config.json', () => {
    writeJson('heliograph.config.json', { port: 1 });
    writeJson('from-env.json', { port: 2 });
    writeJson('from-flag.json', { port: 3 });
    expect(ok().port).toBe(1);
    expect(ok({ env: { HELIOGRAPH_CONFIG: 'from-env.json' } }).port).toBe(2);
    expect(ok({ env: { HELIOGRAPH_CONFIG: 'from-env.json' }, argv: ['--config', 'from-flag.json'] }).port).toBe(3);
    expect(ok({ argv: [`--config=${join(cwd, 'from-flag.json')}`] }).port).toBe(3);
  });

  it('reports a named config file that is missing, unreadable JSON or not an object', () => {
    writeFileSync(join(cwd, 'broken.json'), '{ "port": ');
    writeJson('array.json', [1]);
    expect(errors({ argv: ['--config', 'missing.json'] })[0]).toMatch(/^missing\.json: cannot read the config file: ENOENT/);
    expect(errors({ argv: ['--config', 'broken.json'] })[0]).toMatch(/^broken\.json: not valid JSON/);
    expect(errors({ argv: ['--config', 'array.json'] })).toEqual(['array.json: must hold a JSON object']);
  });

  it('coerces text by each field’s schema type, from env vars and flags alike', () => {
    const iceServers = [{ urls: ['stun:stun.example.org'] }, { urls: 'turn:t.example.org', username: 'u', credential: 'c' }];
    const config = ok({
      env: {
        HELIOGRAPH_LIMITS_MESSAGES_PER_SECOND: '2.5',
        HELIOGRAPH_AUTH_ACCOUNTS: 'false',
        HELIOGRAPH_ICE_SERVERS: JSON.stringify(iceServers),
        HELIOGRAPH_LOG_LEVEL: 'debug',
      },
      argv: [
        '--port',
        '0',
        '--host=::1',
        '--data-dir',
        '/srv/heliograph',
        '--auth.login-grants',
        '[{"room":"team-*","join":true}]',
        '--limits.max-frame-bytes=2048',
        '--auth.issuer',
        'https://id.example.org',
      ],
    });
    expect(config).toMatchObject({
      port: 0,
      host: '::1',
      dataDir: '/srv/heliograph',
      log: { level: 'debug' },
      auth: { accounts: false, issuer: 'https://id.example.org', loginGrants: [{ room: 'team-*', join: true }] },
      limits: { messagesPerSecond: 2.5, maxFrameBytes: 2048 },
      iceServers,
    });
  });

  it('takes booleans as a bare flag, --flag=value, --flag value, and yes/no/on/off/1/0', () => {
    const accounts = (argv: string[], env: Record<string, string> = {}) => ok({ argv, env }).auth.accounts;
    const off = { HELIOGRAPH_AUTH_ACCOUNTS: 'off' };
    expect(accounts([], off)).toBe(false);
    expect(accounts(['--auth.accounts'], off)).toBe(true);
    expect(accounts(['--auth.accounts', '--port', '1'], off)).toBe(true);
    expect(accounts(['--auth.accounts=no'])).toBe(false);
    expect(accounts(['--auth.accounts', 'false'])).toBe(false);
    expect(accounts(['--auth.accounts', '0'])).toBe(false);
    expect(accounts([], { HELIOGRAPH_AUTH_ACCOUNTS: 'YES' })).toBe(true);
    expect(accounts([], { HELIOGRAPH_AUTH_ACCOUNTS: '1' })).toBe(true);
  });

  it('reports text that does not fit the field’s type, naming its source', () => {
    expect(
      errors({
        env: { HELIOGRAPH_PORT: 'abc', HELIOGRAPH_AUTH_ACCOUNTS: 'maybe', HELIOGRAPH_ICE_SERVERS: '[{' },
        argv: ['--limits.messages-per-second', 'fast', '--ping.interval-ms=1.5'],
      }),
    ).toEqual([
      'auth.accounts: must be true or false, got "maybe" (from HELIOGRAPH_AUTH_ACCOUNTS)',
      expect.stringMatching(/^iceServers: must be JSON \(.+\) \(from HELIOGRAPH_ICE_SERVERS\)$/),
      'port: must be an integer, got "abc" (from HELIOGRAPH_PORT)',
      'limits.messagesPerSecond: must be a number, got "fast" (from --limits.messages-per-second)',
      'ping.intervalMs: must be an integer, got "1.5" (from --ping.interval-ms)',
    ]);
  });

  it('ignores empty HELIOGRAPH_ variables and variables without the prefix', () => {
    expect(ok({ env: { HELIOGRAPH_PORT: '', PORT: '1', HOME: '/root' } }).port).toBe(8080);
  });

  it('reads secrets from files named by _FILE, -file and …File, trimming the trailing newline', () => {
    const file = join(cwd, 'jwt-secret.txt');
    writeFileSync(file, `${SECRET}\n`);
    expect(ok({ env: { HELIOGRAPH_AUTH_JWT_SECRET_FILE: file } }).auth.jwtSecret).toBe(SECRET);
    expect(ok({ argv: ['--auth.jwt-secret-file', 'jwt-secret.txt'] }).auth.jwtSecret).toBe(SECRET);
    writeJson('heliograph.config.json', { auth: { jwtSecretFile: 'jwt-secret.txt' } });
    expect(ok().auth.jwtSecret).toBe(SECRET);
    // A later source wins whether it gives the value or a file.
    expect(ok({ argv: ['--auth.jwt-secret', `${SECRET}-flag`] }).auth.jwtSecret).toBe(`${SECRET}-flag`);
  });

  it('reports an unreadable secret file, and a secret given both ways in one source', () => {
    writeFileSync(join(cwd, 's'), SECRET);
    writeJson('heliograph.config.json', { auth: { jwtSecret: SECRET, jwtSecretFile: 's' } });
    expect(
      errors({
        env: { HELIOGRAPH_AUTH_JWT_SECRET: SECRET, HELIOGRAPH_AUTH_JWT_SECRET_FILE: 's' },
        argv: ['--auth.jwt-secret-file', 'nope.txt'],
      }),
    ).toEqual([
      'auth.jwtSecret: set auth.jwtSecret or auth.jwtSecretFile, not both (in heliograph.config.json)',
      'auth.jwtSecret: set HELIOGRAPH_AUTH_JWT_SECRET or HELIOGRAPH_AUTH_JWT_SECRET_FILE, not both',
      expect.stringMatching(/^auth\.jwtSecret: cannot read nope\.txt: ENOENT.* \(from --auth\.jwt-secret-file\)$/),
    ]);
  });

  it('never echoes a secret’s value in a message', () => {
    const messages = errors({ env: { HELIOGRAPH_AUTH_JWT_SECRET: 'hunter2' } });
    expect(messages).toEqual(['auth.jwtSecret: must not have fewer than 32 characters (from HELIOGRAPH_AUTH_JWT_SECRET)']);
    expect(messages.join()).not.toContain('hunter2');
  });

  it('reports every problem at once, each with its field and source', () => {
    writeJson('heliograph.config.json', { rooms: { maxPeers: 0 }, extra: true, auth: { jwtSecrt: 'x' }, ping: 5 });
    const messages = errors({
      env: { HELIOGRAPH_PORT: '70000', HELIOGRAPH_BOGUS: '1', HELIOGRAPH_DATADIR: '/x' },
      argv: ['--log.level', 'loud', '--nope', 'value', '--dataDir=/x', 'stray', '--ice-servers', '[{"urls":5},3]'],
    });
    expect(messages).toEqual([
      'extra: unknown setting (in heliograph.config.json)',
      'auth.jwtSecrt: unknown setting (in heliograph.config.json)',
      'ping: must be an object (from heliograph.config.json)',
      'HELIOGRAPH_BOGUS: unknown environment variable',
      'HELIOGRAPH_DATADIR: unknown environment variable (did you mean HELIOGRAPH_DATA_DIR?)',
      'unexpected argument "stray"',
      '--nope: unknown flag',
      '--dataDir: unknown flag (did you mean --data-dir?)',
      'port: must be <= 65535 (from HELIOGRAPH_PORT)',
      'log.level: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent" (from --log.level)',
      'rooms.maxPeers: must be >= 1 (from heliograph.config.json)',
      'iceServers[0].urls: must be string or array (from --ice-servers)',
      'iceServers[1]: must be object (from --ice-servers)',
    ]);
  });

  it('reports a flag without its value and a value-less --config', () => {
    expect(errors({ argv: ['--port'] })).toEqual(['port: --port needs a value']);
    expect(errors({ argv: ['--config'] })).toEqual(['--config needs a file path']);
  });

  it('allows $schema in the file, for editors', () => {
    writeJson('heliograph.config.json', { $schema: './heliograph.schema.json', port: 9 });
    expect(ok().port).toBe(9);
  });

  it('requires tls.cert and tls.key together, and resolves them against cwd', () => {
    expect(errors({ argv: ['--tls.cert', 'cert.pem'] })).toEqual(['tls.key: is required when tls.cert is set (tls.cert from --tls.cert)']);
    expect(errors({ env: { HELIOGRAPH_TLS_KEY: 'key.pem' } })).toEqual(['tls.cert: is required when tls.key is set (tls.key from HELIOGRAPH_TLS_KEY)']);
    const config = ok({ argv: ['--tls.cert', 'certs/cert.pem', '--tls.key', '/etc/key.pem'] });
    expect(config.tls).toEqual({ cert: join(cwd, 'certs/cert.pem'), key: '/etc/key.pem' });
  });

  it('requires limits.hardFrameBytes >= limits.maxFrameBytes', () => {
    expect(errors({ argv: ['--limits.max-frame-bytes', '2000000'] })).toEqual([
      'limits.hardFrameBytes: must be >= limits.maxFrameBytes, 1048576 < 2000000 ' + '(default; limits.maxFrameBytes from --limits.max-frame-bytes)',
    ]);
    expect(ok({ argv: ['--limits.max-frame-bytes', '4096', '--limits.hard-frame-bytes', '4096'] }).limits.hardFrameBytes).toBe(4096);
  });

  it('requires auth.tokenTtlSeconds <= auth.maxTokenTtlSeconds', () => {
    expect(errors({ argv: ['--auth.token-ttl-seconds', '172800'] })).toEqual([
      'auth.tokenTtlSeconds: must be <= auth.maxTokenTtlSeconds, 172800 > 86400 ' + '(from --auth.token-ttl-seconds; auth.maxTokenTtlSeconds default)',
    ]);
    expect(errors({ env: { HELIOGRAPH_AUTH_MAX_TOKEN_TTL_SECONDS: '600' } })).toEqual([
      'auth.tokenTtlSeconds: must be <= auth.maxTokenTtlSeconds, 3600 > 600 ' + '(default; auth.maxTokenTtlSeconds from HELIOGRAPH_AUTH_MAX_TOKEN_TTL_SECONDS)',
    ]);
    expect(ok({ argv: ['--auth.token-ttl-seconds', '600', '--auth.max-token-ttl-seconds', '600'] }).auth.maxTokenTtlSeconds).toBe(600);
  });

  it('requires the ports a node listens on to differ, except 0', () => {
    const ps = ['--pixel-streaming.enabled'];
    expect(errors({ argv: [...ps, '--port', '8888'], env: { HELIOGRAPH_PIXEL_STREAMING_SFU_PORT: '8888' } })).toEqual([
      'pixelStreaming.streamerPort: must differ from port, both are 8888 (default; port from --port)',
      'pixelStreaming.sfuPort: must differ from port, both are 8888 (from HELIOGRAPH_PIXEL_STREAMING_SFU_PORT; port from --port)',
    ]);
    expect(ok({ argv: [...ps, '--port', '0', '--pixel-streaming.streamer-port', '0', '--pixel-streaming.sfu-port', '0'] }).port).toBe(0);
    expect(ok({ argv: ['--port', '8888'] }).port).toBe(8888); // Pixel Streaming off: its ports are not opened
    expect(ok({ argv: [...ps, '--pixel-streaming.sfu-enabled', 'false', '--pixel-streaming.sfu-port', '8888'] }).port).toBe(8080);
  });

  it('keeps the in-memory dataDir as it is', () => {
    expect(ok({ argv: ['--data-dir', ':memory:'] }).dataDir).toBe(':memory:');
  });

  it('returns a deep-frozen config that shares nothing with the schema', () => {
    const config = ok();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.auth)).toBe(true);
    expect(Object.isFrozen(config.auth.loginGrants)).toBe(true);
    expect(Object.isFrozen(config.auth.loginGrants[0])).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
    const grantsDefault = (ConfigSchema.properties.auth.properties.loginGrants as unknown as { default: unknown }).default;
    expect(Object.isFrozen(grantsDefault)).toBe(false);
    expect(ok().auth.loginGrants).not.toBe(config.auth.loginGrants);
  });
});

describe('configFlagLength', () => {
  it('knows which flags take the next token', () => {
    expect(configFlagLength(['--port', '0'], 0)).toBe(2);
    expect(configFlagLength(['--port=0', 'x'], 0)).toBe(1);
    expect(configFlagLength(['--limits.max-frame-bytes', '-1'], 0)).toBe(2);
    expect(configFlagLength(['--auth.accounts', 'alice'], 0)).toBe(1);
    expect(configFlagLength(['--auth.accounts', 'off'], 0)).toBe(2);
    expect(configFlagLength(['--unknown', 'v'], 0)).toBe(2);
    expect(configFlagLength(['--unknown', '--port'], 0)).toBe(1);
    expect(configFlagLength(['--config', 'f.json'], 0)).toBe(2);
    expect(configFlagLength(['--auth.jwt-secret-file', 'f'], 0)).toBe(2);
  });
});

describe('describeConfig', () => {
  it('has one row per leaf of the schema, named after its path', () => {
    const rows = describeConfig();
    expect(rows.map((r) => r.path)).toEqual(CONFIG_FIELDS.map((f) => f.path));
    expect(rows).toContainEqual({
      path: 'auth.jwtSecret',
      env: 'HELIOGRAPH_AUTH_JWT_SECRET',
      flag: '--auth.jwt-secret',
      type: 'string',
      default: undefined,
      description: expect.any(String) as string,
      secret: true,
    });
    expect(rows.find((r) => r.path === 'limits.maxFrameBytes')).toMatchObject({
      env: 'HELIOGRAPH_LIMITS_MAX_FRAME_BYTES',
      flag: '--limits.max-frame-bytes',
      type: 'integer',
      default: '65536',
    });
    expect(rows.find((r) => r.path === 'dataDir')).toMatchObject({ flag: '--data-dir', default: './data' });
    expect(rows.find((r) => r.path === 'auth.loginGrants')?.type).toBe('array (JSON)');
    expect(rows.every((r) => r.description !== '')).toBe(true);
  });

  it('gives every setting distinct names, including the _FILE ones', () => {
    const names = describeConfig().flatMap((r) => [r.env, r.flag, ...(r.secret ? [`${r.env}_FILE`, `${r.flag}-file`] : [])]);
    expect(new Set(names).size).toBe(names.length);
    expect(names).not.toContain('HELIOGRAPH_CONFIG');
  });
});
