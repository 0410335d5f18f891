import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { IceServerIssuer, mintTurnCredential } from './turn-credentials.js';

describe('TURN REST credentials', () => {
  it('are <expiry>:<user> with a base64 HMAC-SHA1 password, as coturn computes it', () => {
    const { username, credential } = mintTurnCredential('s3cret-s3cret-s3cret', 'alice', 1_800_000_000);
    expect(username).toBe('1800000000:alice');
    expect(credential).toBe(createHmac('sha1', 's3cret-s3cret-s3cret').update('1800000000:alice').digest('base64'));
    // A known vector, computed with `printf %s 1800000000:alice | openssl dgst -binary -sha1 -hmac s3cret-s3cret-s3cret | base64`.
    expect(credential).toBe('8heDCQhTA2VJ19OZffK/UyJUaAY=');
  });

  it('are minted per user with the configured lifetime, after the fixed servers', () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const issuer = new IceServerIssuer({
      fixed: [{ urls: 'stun:stun.example.com:3478' }],
      turn: { urls: ['turn:turn.example.com:3478?transport=udp'], secret: 'x'.repeat(16), ttlSeconds: 600 },
      clock,
    });
    const issued = issuer.issue('bob');
    expect(issued.expiresAt).toBe(Date.UTC(2026, 0, 1) + 600_000);
    expect(issued.iceServers[0]).toEqual({ urls: 'stun:stun.example.com:3478' });
    expect(issued.iceServers[1]).toMatchObject({ urls: ['turn:turn.example.com:3478?transport=udp'], username: `${Date.UTC(2026, 0, 1) / 1000 + 600}:bob` });
    expect(issuer.expiring).toBe(true);
  });

  it('without TURN, only the fixed servers and no expiry', () => {
    const issuer = new IceServerIssuer({ fixed: [{ urls: 'stun:a' }], clock: new FakeClock() });
    expect(issuer.issue('u')).toEqual({ iceServers: [{ urls: 'stun:a' }], expiresAt: undefined });
    expect(issuer.expiring).toBe(false);
  });
});
