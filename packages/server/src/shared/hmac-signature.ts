import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header with the Unix time (seconds) a request was signed at. */
export const TIMESTAMP_HEADER = 'x-heliograph-timestamp';
/** Header with `v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>`. */
export const SIGNATURE_HEADER = 'x-heliograph-signature';

/**
 * The signature of a body sent at `timestampSeconds`: HMAC-SHA256 over `"<timestamp>.<body>"`,
 * hex, prefixed with the scheme version. Binding the timestamp lets receivers refuse replays.
 */
export function sign(secret: string, timestampSeconds: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex')}`;
}

/** The two headers for `body`, signed now. */
export function signatureHeaders(secret: string, nowMs: number, body: string): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000);
  return { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: sign(secret, timestamp, body) };
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks the signature headers of a received body: present, made with `secret`, and signed no
 * more than `toleranceSeconds` away from `nowMs` (older ones are refused as replays). Compares in
 * constant time.
 */
export function verifySignature(
  secret: string,
  headers: { timestamp: string | null | undefined; signature: string | null | undefined },
  body: string,
  nowMs: number,
  toleranceSeconds = 300,
): SignatureCheck {
  const { timestamp, signature } = headers;
  if (!timestamp || !signature) {
    return { ok: false, reason: 'missing signature headers' };
  }
  if (!/^\d{1,12}$/.test(timestamp)) {
    return { ok: false, reason: 'malformed timestamp' };
  }
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSeconds) {
    return { ok: false, reason: 'timestamp outside the tolerance (replayed or clock skew)' };
  }
  const expected = Buffer.from(sign(secret, Number(timestamp), body));
  // A header may list several signatures (during a secret rotation); any valid one will do.
  const valid = signature
    .split(',')
    .map((s) => Buffer.from(s.trim()))
    .some((given) => given.length === expected.length && timingSafeEqual(given, expected));
  return valid ? { ok: true } : { ok: false, reason: 'bad signature' };
}
