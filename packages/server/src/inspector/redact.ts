/** What stands in for a value the inspector never shows. */
export const REDACTED = '[redacted]';

/** Keys whose values are credentials wherever they appear (join tokens, resume secrets, TURN passwords). */
const SECRET_KEY = /token|secret|password|passwd|credential|authorization|api[-_]?key/i;
/** A JWT anywhere in a string (`eyJ….….…`). */
const JWT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
/** SDP's ICE password line: with the ufrag it authenticates connectivity checks. */
const ICE_PWD = /^(a=ice-pwd:).*$/gm;
/** Strings longer than this are cut (an SDP is a few kB; nothing legitimate is bigger). */
const MAX_STRING = 16_384;
const MAX_DEPTH = 12;
const MAX_KEYS = 200;

/**
 * A copy of a message body fit to show an operator: credentials replaced by `[redacted]` by key
 * and by shape (JWTs, SDP `a=ice-pwd`), long strings cut, deep or wide values bounded. SDP and
 * candidates are otherwise kept: they are what the inspector is for.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    const cut = value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…[${value.length - MAX_STRING} more]` : value;
    return cut.replace(JWT, REDACTED).replace(ICE_PWD, `$1${REDACTED}`);
  }
  if (value === null || typeof value !== 'object') {
    return value;
  }
  if (depth >= MAX_DEPTH) {
    return '[too deep]';
  }
  if (Array.isArray(value)) {
    return value.slice(0, MAX_KEYS).map((item) => redact(item, depth + 1));
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value).slice(0, MAX_KEYS)) {
    out[key] = SECRET_KEY.test(key) ? REDACTED : redact(item, depth + 1);
  }
  return out;
}
