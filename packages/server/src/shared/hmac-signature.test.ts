import { describe, expect, it } from 'vitest';
import { sign, signatureHeaders, verifySignature } from './hmac-signature.js';

const SECRET = 'a-secret-for-signing-tests';
const NOW = Date.UTC(2026, 0, 1);

describe('HMAC signatures', () => {
  const body = '{"id":"EV_1"}';
  const headers = signatureHeaders(SECRET, NOW, body);
  const of = (h: Record<string, string>) => ({ timestamp: h['x-heliograph-timestamp'], signature: h['x-heliograph-signature'] });

  it('verify what they sign', () => {
    expect(headers['x-heliograph-signature']).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(verifySignature(SECRET, of(headers), body, NOW)).toEqual({ ok: true });
  });
  it('refuse another body, another secret, missing headers', () => {
    expect(verifySignature(SECRET, of(headers), `${body} `, NOW)).toEqual({ ok: false, reason: 'bad signature' });
    expect(verifySignature('another-secret-entirely', of(headers), body, NOW)).toEqual({ ok: false, reason: 'bad signature' });
    expect(verifySignature(SECRET, { timestamp: undefined, signature: null }, body, NOW)).toEqual({ ok: false, reason: 'missing signature headers' });
  });
  it('refuse replays by age, both ways', () => {
    expect(verifySignature(SECRET, of(headers), body, NOW + 301_000).ok).toBe(false);
    expect(verifySignature(SECRET, of(headers), body, NOW - 301_000).ok).toBe(false);
    expect(verifySignature(SECRET, of(headers), body, NOW + 299_000).ok).toBe(true);
  });
  it('accept any of several signatures (secret rotation)', () => {
    const ts = NOW / 1000;
    const both = `${sign('old-secret-old-secret', ts, body)}, ${sign(SECRET, ts, body)}`;
    expect(verifySignature(SECRET, { timestamp: String(ts), signature: both }, body, NOW)).toEqual({ ok: true });
  });
});
