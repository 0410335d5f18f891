import { pino, type Logger, type DestinationStream } from 'pino';
import { prettyFactory } from 'pino-pretty';

export type { Logger };

/**
 * Paths pino blanks out wherever they appear, so that secrets and tokens never reach logs.
 * URLs are scrubbed separately by `redactUrl` before they are logged.
 */
const REDACT = [
  'token',
  '*.token',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'jwtSecret',
  '*.jwtSecret',
];

/** How log lines are written: one JSON object per line, or pino-pretty's text for people. */
export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  /** Default `json`. */
  format?: LogFormat;
  /** Colours in the `pretty` format (for a terminal). */
  colorize?: boolean;
}

/**
 * A pino logger at `level`, writing to `destination` (stdout by default). Redaction applies
 * before formatting, so it holds in both formats.
 */
export function createLogger(level: string, destination?: DestinationStream, options: LoggerOptions = {}): Logger {
  const config = { level, redact: { paths: REDACT, censor: '[redacted]' } };
  if (options.format === 'pretty') {
    return pino(config, prettyDestination(destination ?? process.stdout, options.colorize ?? false));
  }
  return destination ? pino(config, destination) : pino(config);
}

/**
 * Formats each JSON line with pino-pretty's synchronous formatter and writes it on, in order and
 * at once: a pino-pretty transport stream would pass lines on later, and a line logged just
 * before the process exits could be lost.
 */
function prettyDestination(destination: DestinationStream, colorize: boolean): DestinationStream {
  const format = prettyFactory({ colorize, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  return {
    write: (line: string) => {
      destination.write(format(line));
    },
  };
}

/** Removes the value of every query parameter named like a secret from a request URL. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|access_token|password|secret)=)[^&#]*/gi, '$1[redacted]');
}

/**
 * A URL fit for a log or an error message: the password in its user info (`redis://:pw@host`,
 * `redis://user:pw@host`) and secret query parameters are replaced by `[redacted]`.
 */
export function redactUrlCredentials(url: string): string {
  // Up to the last `@`: a password with an unescaped `/` or `@` is still hidden whole.
  const userinfo = /^([a-z][a-z0-9+.-]*:\/\/)(.*)@/is.exec(url);
  if (!userinfo) {
    return redactUrl(url);
  }
  const [whole, scheme = '', info = ''] = userinfo;
  const colon = info.indexOf(':');
  const user = colon < 0 ? info : info.slice(0, colon);
  const shown = /[/?#]/.test(info) ? '[redacted]' : colon < 0 ? user : `${user}:[redacted]`;
  return redactUrl(`${scheme}${shown}@${url.slice(whole.length)}`);
}
