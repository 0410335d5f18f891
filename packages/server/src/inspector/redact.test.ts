import { describe, expect, it } from 'vitest';
import { REDACTED, redact } from './redact.js';

describe('redact', () => {
  it('hides credentials by key and by shape, and keeps SDP and candidates', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    const sdp = 'v=0\r\na=ice-ufrag:abcd\r\na=ice-pwd:supersecretpassword12345\r\na=fingerprint:sha-256 AA:BB\r\n';
    const out = redact({
      token: jwt,
      resume: { session: 'SE_1', secret: 's3cr3t' },
      iceServers: [{ urls: ['turn:x'], username: 'u', credential: 'p' }],
      note: `see ${jwt} here`,
      description: { type: 'offer', sdp },
      candidate: { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 5000 typ host' },
    });
    const text = JSON.stringify(out);
    expect(text).not.toContain(jwt);
    expect(text).not.toContain('s3cr3t');
    expect(text).not.toContain('supersecretpassword12345');
    expect(out).toMatchObject({
      token: REDACTED,
      resume: { session: 'SE_1', secret: REDACTED },
      iceServers: [{ urls: ['turn:x'], username: 'u', credential: REDACTED }],
      note: `see ${REDACTED} here`,
      candidate: { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 5000 typ host' },
    });
    expect((out as { description: { sdp: string } }).description.sdp).toContain('a=ice-ufrag:abcd\r\na=ice-pwd:[redacted]\r\na=fingerprint');
  });

  it('bounds long strings, deep values and wide objects', () => {
    expect(redact('x'.repeat(20_000))).toMatch(/^x{16384}…\[3616 more\]$/);
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) {
      deep = { a: deep };
    }
    expect(JSON.stringify(redact(deep))).toContain('[too deep]');
    const wide = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i]));
    expect(Object.keys(redact(wide) as object)).toHaveLength(200);
  });
});
