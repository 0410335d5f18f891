import { describe, expect, it } from 'vitest';
import { createLogger, redactUrlCredentials, type LogFormat } from './logger.js';

function capture(format: LogFormat, colorize = false) {
  let out = '';
  const logger = createLogger('info', { write: (line: string) => void (out += line) }, { format, colorize });
  return { logger, out: () => out };
}

const SECRETS = {
  token: 'tok-eyJhbGciOi-secret',
  user: { password: 'hunter2-password' },
  req: { headers: { authorization: 'Bearer abc-secret-bearer', cookie: 'sid=cookie-secret' } },
  config: { jwtSecret: 'jwt-secret-of-at-least-32-characters' },
};

describe('createLogger', () => {
  it('writes one JSON object per line by default', () => {
    const { logger, out } = capture('json');
    logger.info({ url: 'http://127.0.0.1:1' }, 'Heliograph serving on http://127.0.0.1:1');
    const entry = JSON.parse(out()) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 30, url: 'http://127.0.0.1:1', msg: 'Heliograph serving on http://127.0.0.1:1' });
  });

  it('writes text for people in the pretty format, fields below the message, no colours unless asked', () => {
    const { logger, out } = capture('pretty');
    logger.warn({ room: 'demo' }, 'room is nearly full');
    const [first, ...rest] = out().split('\n');
    expect(first).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: room is nearly full$/);
    expect(rest.join('\n')).toContain('room: "demo"');
    expect(out()).not.toContain('pid');
    expect(out()).not.toContain('\u001b[');
    const coloured = capture('pretty', true);
    coloured.logger.info('hello');
    expect(coloured.out()).toContain('\u001b[');
  });

  it.each(['json', 'pretty'] as const)('redacts tokens, passwords, authorization, cookies and jwtSecret in the %s format', (format) => {
    const { logger, out } = capture(format);
    logger.info(SECRETS, 'a request with secrets');
    for (const secret of ['tok-eyJhbGciOi-secret', 'hunter2-password', 'abc-secret-bearer', 'cookie-secret', 'jwt-secret-of-at-least']) {
      expect(out()).not.toContain(secret);
    }
    expect(out().match(/\[redacted\]/g)).toHaveLength(5);
  });
});

describe('redactUrlCredentials', () => {
  it.each([
    ['redis://:s3cret@10.0.0.5:6379', 'redis://:[redacted]@10.0.0.5:6379'],
    ['redis://app:s3cret@10.0.0.5:6379/2', 'redis://app:[redacted]@10.0.0.5:6379/2'],
    ['rediss://app@10.0.0.5:6379', 'rediss://app@10.0.0.5:6379'],
    ['redis-sentinel://:s3cret@h1:26379,h2:26379/mymaster', 'redis-sentinel://:[redacted]@h1:26379,h2:26379/mymaster'],
    ['redis://:pa/ss@w@rd@host:6379', 'redis://[redacted]@host:6379'],
    ['redis://host:6379?password=s3cret', 'redis://host:6379?password=[redacted]'],
    ['redis://10.0.0.5:6379', 'redis://10.0.0.5:6379'],
  ])('%s → %s', (url, shown) => {
    expect(redactUrlCredentials(url)).toBe(shown);
  });
});
