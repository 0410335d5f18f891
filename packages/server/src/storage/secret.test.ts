import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StartupError } from '../shared/startup-error.js';
import { loadOrCreateSecret, openSigningSecret } from './secret.js';

describe('loadOrCreateSecret', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'heliograph-secret-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates 32 random bytes in base64url, mode 0600, and leaves no temp file', () => {
    const secret = loadOrCreateSecret(dir);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    const file = join(dir, 'jwt-secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(secret);
    expect(readdirSync(dir)).toEqual(['jwt-secret']);
  });

  it('reuses the secret on later calls', () => {
    const first = loadOrCreateSecret(dir);
    expect(loadOrCreateSecret(dir)).toBe(first);
    expect(loadOrCreateSecret(dir)).toBe(first);
  });

  it('creates the data directory', () => {
    const nested = join(dir, 'a', 'b');
    expect(loadOrCreateSecret(nested)).toHaveLength(43);
  });

  it('reads a secret written by someone else, ignoring surrounding whitespace', () => {
    writeFileSync(join(dir, 'jwt-secret'), '  an-operator-provided-secret-of-enough-length\n');
    expect(loadOrCreateSecret(dir)).toBe('an-operator-provided-secret-of-enough-length');
  });

  it('refuses a truncated secret file, naming dataDir', () => {
    writeFileSync(join(dir, 'jwt-secret'), 'short\n');
    expect(() => loadOrCreateSecret(dir)).toThrow(/fewer than 32/);
    expect(() => loadOrCreateSecret(dir)).toThrow(StartupError);
  });
});

describe('openSigningSecret', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'heliograph-secret-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('says whether the secret was generated now or read from the file', () => {
    const first = openSigningSecret(dir);
    expect(first).toEqual({ secret: expect.any(String) as string, origin: 'generated', file: join(dir, 'jwt-secret') });
    expect(openSigningSecret(dir)).toEqual({ ...first, origin: 'stored' });
  });

  it('with :memory: generates a fresh secret each time and writes nothing', () => {
    const a = openSigningSecret(':memory:');
    const b = openSigningSecret(':memory:');
    expect(a).toEqual({ secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) as string, origin: 'memory' });
    expect(b.secret).not.toBe(a.secret);
    expect(existsSync(':memory:')).toBe(false);
  });

  it('names dataDir when the directory cannot be created', () => {
    writeFileSync(join(dir, 'file'), '');
    expect(() => openSigningSecret(join(dir, 'file', 'sub'))).toThrow(
      new StartupError(
        'dataDir',
        `cannot create ${join(dir, 'file', 'sub')}: a part of the path is not a directory (ENOTDIR)`,
        'set --data-dir to a directory this user can create and write, or to :memory: to keep nothing on disk',
      ),
    );
  });
});
