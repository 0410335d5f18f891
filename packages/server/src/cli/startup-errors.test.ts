import { describe, expect, it } from 'vitest';
import { Value } from 'typebox/value';
import { ConfigSchema, type Config } from '../config/schema.js';
import { StartupError } from '../shared/startup-error.js';
import { checkTlsFiles, explainStartupError } from './startup-errors.js';

function config(overrides: Record<string, unknown> = {}): Config {
  return Value.Default(ConfigSchema, { dataDir: '/tmp/unused', auth: { jwtSecret: 'x'.repeat(40) }, port: 7000, ...overrides }) as Config;
}

function systemError(code: string, syscall: string, port?: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`${syscall} ${code}`), { code, syscall, port, address: '127.0.0.1' });
}

describe('explainStartupError', () => {
  it('names the port setting in use, with the flag that changes it', () => {
    const ps = config({ pixelStreaming: { enabled: true, streamerPort: 8888, sfuPort: 8889 } });
    const main = explainStartupError(systemError('EADDRINUSE', 'listen', 7000), ps);
    expect(main).toMatchObject({ setting: 'port', problem: '127.0.0.1:7000 is already in use' });
    expect(main?.fix).toContain('--port');
    const streamer = explainStartupError(systemError('EADDRINUSE', 'listen', 8888), ps);
    expect(streamer).toMatchObject({ setting: 'pixelStreaming.streamerPort' });
    expect(streamer?.fix).toContain('--pixel-streaming.streamer-port');
  });

  it('explains a privileged port, an address not of this machine and a host that does not resolve', () => {
    expect(explainStartupError(systemError('EACCES', 'listen', 80), config())).toMatchObject({
      setting: 'port',
      problem: 'not allowed to listen on 127.0.0.1:80',
    });
    expect(explainStartupError(systemError('EADDRNOTAVAIL', 'bind', 7000), config({ host: '10.9.9.9' }))).toMatchObject({ setting: 'host' });
    expect(explainStartupError(systemError('ENOTFOUND', 'getaddrinfo'), config({ host: 'nowhere.invalid' }))).toMatchObject({
      setting: 'host',
      problem: 'cannot resolve "nowhere.invalid"',
    });
  });

  it('passes a StartupError through and leaves anything else (a bug) unexplained', () => {
    const own = new StartupError('dataDir', 'bad', 'fix it');
    expect(explainStartupError(own, config())).toBe(own);
    expect(explainStartupError(systemError('ECONNRESET', 'listen', 7000), config())).toBeUndefined();
    expect(explainStartupError(systemError('ENOENT', 'open'), config())).toBeUndefined();
    expect(explainStartupError(new TypeError('oops'), config())).toBeUndefined();
    expect(explainStartupError('a string', config())).toBeUndefined();
  });
});

describe('checkTlsFiles', () => {
  it('does nothing without TLS, and names the certificate file it cannot read', () => {
    expect(() => checkTlsFiles(config())).not.toThrow();
    const missing = config({ tls: { cert: '/nonexistent/cert.pem', key: '/nonexistent/key.pem' } });
    expect(() => checkTlsFiles(missing)).toThrow(
      expect.objectContaining({ setting: 'tls.cert', problem: 'cannot read /nonexistent/cert.pem: no such file or directory (ENOENT)' }),
    );
  });
});
