import { pino, type Logger, type DestinationStream } from 'pino';

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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}

/** Removes the value of every query parameter named like a secret from a request URL. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|access_token|password|secret)=)[^&#]*/gi, '$1[redacted]');
}
