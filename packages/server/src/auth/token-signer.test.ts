import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { TokenSigner } from './token-signer.js';

const secret = 'unit-test-secret-0123456789abcdefghijklmnop';

describe('TokenSigner', () => {
  it('mints HS256 tokens with the claims and times from the clock', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0, 500));
    const signer = new TokenSigner({ secret, clock, issuer: 'heliograph', audience: 'rooms' });
    const grants = [{ room: 'team-*', join: true }];
    const { token, expiresAt } = await signer.mint({ userId: 'u1', name: 'Uma', grants, ttlSeconds: 600, metadata: { tier: 'gold' } });
    const iat = Date.UTC(2026, 0, 1) / 1000;
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(decodeJwt(token)).toEqual({ sub: 'u1', name: 'Uma', grants, metadata: { tier: 'gold' }, iat, exp: iat + 600, iss: 'heliograph', aud: 'rooms' });
    expect(expiresAt).toBe((iat + 600) * 1000);
  });

  it('leaves out optional claims', async () => {
    const signer = new TokenSigner({ secret, clock: new FakeClock() });
    const { token } = await signer.mint({ userId: 'u2', grants: [], ttlSeconds: 60 });
    expect(Object.keys(decodeJwt(token)).sort()).toEqual(['exp', 'grants', 'iat', 'sub']);
  });

  it('refuses to mint tokens the verifier would refuse', async () => {
    const signer = new TokenSigner({ secret, clock: new FakeClock() });
    await expect(signer.mint({ userId: '', grants: [], ttlSeconds: 60 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(signer.mint({ userId: 'u', name: 'x'.repeat(200), grants: [], ttlSeconds: 60 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(signer.mint({ userId: 'u', grants: [], ttlSeconds: 0 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('never mints over the maximum lifetime, one day unless configured', async () => {
    const clock = new FakeClock();
    const byDefault = new TokenSigner({ secret, clock });
    expect(byDefault.maxTtlSeconds).toBe(86_400);
    await expect(byDefault.mint({ userId: 'u', grants: [], ttlSeconds: 86_400 })).resolves.toMatchObject({ expiresAt: clock.now() + 86_400_000 });
    await expect(byDefault.mint({ userId: 'u', grants: [], ttlSeconds: 86_401 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'ttlSeconds 86401 is over the maximum token lifetime of 86400 s (auth.maxTokenTtlSeconds)',
    });
    const capped = new TokenSigner({ secret, clock, maxTtlSeconds: 600 });
    await expect(capped.mint({ userId: 'u', grants: [], ttlSeconds: 600 })).resolves.toBeDefined();
    await expect(capped.mint({ userId: 'u', grants: [], ttlSeconds: 601 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});
