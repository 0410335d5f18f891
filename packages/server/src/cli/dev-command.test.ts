import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { devConfig, devWelcome } from './dev-command.js';

function config(argv: string[]): Config {
  const result = loadConfig({ argv, env: {}, cwd: '/' });
  if ('errors' in result) {
    throw new Error(result.errors.join('\n'));
  }
  return result.config;
}

const CREDS = { password: 'pw-123456789', apiKey: 'hgk_key', token: 'eyJ.a.b', tokenTtlSeconds: 3600 };

describe('dev mode', () => {
  it('keeps nothing, whatever dataDir says', () => {
    expect(devConfig(config(['--data-dir', '/srv/hg'])).dataDir).toBe(':memory:');
  });

  it('says it is for development only and lists the demo, account, key and token', () => {
    const text = devWelcome({ url: 'http://127.0.0.1:8080' }, config([]), CREDS);
    expect(text).toContain('FOR DEVELOPMENT ONLY');
    expect(text).toMatch(/^ {2}Demo app +http:\/\/127\.0\.0\.1:8080\/$/m);
    expect(text).toMatch(/^ {2}Test account +username dev, password pw-123456789 /m);
    expect(text).toMatch(/^ {2}Control API key +hgk_key \(read-write; /m);
    expect(text).toMatch(/^ {2}Join token +eyJ\.a\.b \(user dev, any room, 1 h\)$/m);
    expect(text).not.toContain('Warning');
  });

  it('warns when it listens beyond this machine, and links to localhost', () => {
    const text = devWelcome({ url: 'http://0.0.0.0:8080' }, config(['--host', '0.0.0.0', '--demo.enabled', 'false']), { ...CREDS, password: undefined });
    expect(text).toContain('Warning: listening on 0.0.0.0: anyone who can reach this machine can use these credentials and sign up.');
    expect(text).toMatch(/^ {2}WebSocket +ws:\/\/localhost:8080\/ws$/m);
    expect(text).not.toContain('Demo app');
    expect(text).not.toContain('Test account');
  });
});
