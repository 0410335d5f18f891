import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompactSign, SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { TokenSigner } from '../../src/auth/token-signer.js';
import { createTokenVerifier, type TokenVerifierOptions } from '../../src/auth/token-verifier.js';
import { AppError } from '../../src/shared/app-error.js';

const SECRET = 'verifier-test-secret-0123456789-abcdefghijkl';
const GRANTS = [{ room: 'lobby', join: true }];

function nowSeconds(clock: FakeClock): number {
  return Math.floor(clock.now() / 1000);
}

function verifier(clock: FakeClock, options: Partial<TokenVerifierOptions> = {}) {
  return createTokenVerifier({ secret: SECRET, clockToleranceSeconds: 5, clock, ...options });
}

/** Signs arbitrary claims with HS256 (or another secret), bypassing TokenSigner's checks. */
function hs256(payload: JWTPayload, secret = SECRET, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', ...header }).sign(new TextEncoder().encode(secret));
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Resolves with the rejection, checked to be UNAUTHORIZED without any token text in it. */
async function rejection(promise: Promise<unknown>, token?: string): Promise<string> {
  const err = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe('UNAUTHORIZED');
  if (token) {
    for (const part of token.split('.').filter((p) => p.length > 8)) {
      expect((err as AppError).message).not.toContain(part);
    }
  }
  return (err as AppError).message;
}

describe('HS256 tokens', () => {
  it('accepts a token minted by TokenSigner and returns the identity', async () => {
    const clock = new FakeClock();
    const signer = new TokenSigner({ secret: SECRET, clock });
    const { token, expiresAt } = await signer.mint({ userId: 'u1', name: 'Uma', grants: GRANTS, ttlSeconds: 600, metadata: { a: 1 } });
    expect(await verifier(clock).verify(token)).toEqual({ userId: 'u1', name: 'Uma', grants: GRANTS, metadata: { a: 1 }, expiresAt });
    expect(expiresAt).toBe(clock.now() + 600_000);
  });

  it('leaves optional fields out of the identity', async () => {
    const clock = new FakeClock();
    const token = await hs256({ sub: 'u2', grants: [], exp: nowSeconds(clock) + 60 });
    expect(await verifier(clock).verify(token)).toEqual({ userId: 'u2', grants: [], expiresAt: (nowSeconds(clock) + 60) * 1000 });
  });

  it('rejects an expired token, honouring the clock tolerance', async () => {
    const clock = new FakeClock();
    const signer = new TokenSigner({ secret: SECRET, clock });
    const { token } = await signer.mint({ userId: 'u', grants: GRANTS, ttlSeconds: 60 });
    const v = verifier(clock);
    clock.advance(64_000);
    await expect(v.verify(token)).resolves.toMatchObject({ userId: 'u' });
    clock.advance(1_000);
    expect(await rejection(v.verify(token), token)).toBe('token expired');
  });

  it('rejects a token that is not valid yet', async () => {
    const clock = new FakeClock();
    const now = nowSeconds(clock);
    const token = await hs256({ sub: 'u', grants: [], nbf: now + 60, exp: now + 600 });
    expect(await rejection(verifier(clock).verify(token), token)).toBe('token not yet valid');
    clock.advance(55_000);
    await expect(verifier(clock).verify(token)).resolves.toMatchObject({ userId: 'u' });
  });

  it('rejects a bad signature', async () => {
    const clock = new FakeClock();
    const token = await hs256({ sub: 'u', grants: [], exp: nowSeconds(clock) + 60 }, 'another-secret-that-is-long-enough-000000');
    expect(await rejection(verifier(clock).verify(token), token)).toBe('bad signature');
    const good = await hs256({ sub: 'u', grants: [], exp: nowSeconds(clock) + 60 });
    const [header, , signature] = good.split('.');
    const tampered = `${header}.${b64({ sub: 'admin', grants: [{ room: '*', create: true }], exp: nowSeconds(clock) + 60 })}.${signature}`;
    expect(await rejection(verifier(clock).verify(tampered), tampered)).toBe('bad signature');
  });

  it('refuses alg none', async () => {
    const clock = new FakeClock();
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'u', grants: [], exp: nowSeconds(clock) + 60 })}.`;
    expect(await rejection(verifier(clock).verify(token), token)).toBe('unsigned tokens are refused');
  });

  it('refuses algorithms it does not support, and HMAC without a secret', async () => {
    const clock = new FakeClock();
    const payload = { sub: 'u', grants: [], exp: nowSeconds(clock) + 60 };
    const hs512 = await new SignJWT(payload).setProtectedHeader({ alg: 'HS512' }).sign(new TextEncoder().encode(SECRET));
    expect(await rejection(verifier(clock).verify(hs512), hs512)).toBe('unsupported token algorithm');
    const hs256Token = await hs256(payload);
    const noSecret = createTokenVerifier({ jwksUrl: 'http://127.0.0.1:9/jwks', clockToleranceSeconds: 0, clock });
    expect(await rejection(noSecret.verify(hs256Token), hs256Token)).toMatch(/no secret/);
  });

  it('refuses asymmetric tokens when no JWKS is configured', async () => {
    const clock = new FakeClock();
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({ sub: 'u', grants: [], exp: nowSeconds(clock) + 60 }).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
    expect(await rejection(verifier(clock).verify(token), token)).toMatch(/no JWKS/);
  });

  it.each([
    ['empty', ''],
    ['garbage', 'not a token'],
    ['two parts', 'abc.def'],
    ['bad base64 header', '!!!.e30.sig'],
    ['header not JSON', `${Buffer.from('nope').toString('base64url')}.e30.sig`],
    ['huge', `${b64({ alg: 'HS256' })}.${'a'.repeat(20_000)}.sig`],
  ])('rejects a malformed token (%s)', async (_name, token) => {
    expect(await rejection(verifier(new FakeClock()).verify(token))).toBe('malformed token');
  });

  it('rejects a correctly signed payload that is not a JSON object', async () => {
    const key = new TextEncoder().encode(SECRET);
    for (const payload of ['not json', '[1,2]']) {
      const token = await new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: 'HS256' }).sign(key);
      expect(await rejection(verifier(new FakeClock()).verify(token))).toBe('malformed token');
    }
  });

  it('rejects claims nesting deeper than 32 levels, which would overflow wherever they are relayed', async () => {
    const clock = new FakeClock();
    // 2,000 levels: what fits in a token (MAX_TOKEN_LENGTH is 16 KiB) and far past the bound.
    const deep = `${'['.repeat(2000)}${']'.repeat(2000)}`;
    const payload = `{"sub":"u","grants":[],"exp":${nowSeconds(clock) + 60},"metadata":{"x":${deep}}}`;
    const token = await new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
    expect(await rejection(verifier(clock).verify(token), token)).toBe('claims nest deeper than 32 levels');
  });

  it('checks the signature before looking at the payload', async () => {
    const token = await hs256({});
    const [header] = token.split('.');
    const forged = `${header}.${Buffer.from('not json').toString('base64url')}.sig`;
    expect(await rejection(verifier(new FakeClock()).verify(forged))).toBe('bad signature');
  });

  it.each([
    ['missing claim grants', (exp: number) => ({ sub: 'u', exp })],
    ['missing claim sub', (exp: number) => ({ grants: [], exp })],
    ['missing claim exp', () => ({ sub: 'u', grants: [] })],
    ['invalid claim grants', (exp: number) => ({ sub: 'u', grants: 'all', exp })],
    ['invalid claim grants', (exp: number) => ({ sub: 'u', grants: [{ join: true }], exp })],
    ['invalid claim sub', (exp: number) => ({ sub: '', grants: [], exp })],
    ['invalid claim name', (exp: number) => ({ sub: 'u', name: 42, grants: [], exp })],
    ['invalid claim metadata', (exp: number) => ({ sub: 'u', grants: [], metadata: 'x', exp })],
    ['invalid claim exp', (exp: number) => ({ sub: 'u', grants: [], exp: String(exp) })],
  ])('rejects bad claims: %s', async (reason, claims) => {
    const clock = new FakeClock();
    const token = await hs256(claims(nowSeconds(clock) + 60) as JWTPayload);
    expect(await rejection(verifier(clock).verify(token), token)).toBe(reason);
  });

  it('refuses a token whose exp lies beyond the maximum lifetime, honouring the clock tolerance', async () => {
    const clock = new FakeClock();
    const now = nowSeconds(clock);
    const eternal = await hs256({ sub: 'u', grants: [], exp: 1e15 });
    expect(await rejection(verifier(clock).verify(eternal), eternal)).toBe('token lifetime exceeds the maximum');
    // The default cap is one day, plus the 5 s of tolerance.
    await expect(verifier(clock).verify(await hs256({ sub: 'u', grants: [], exp: now + 86_405 }))).resolves.toMatchObject({ userId: 'u' });
    const dayAndMore = await hs256({ sub: 'u', grants: [], exp: now + 86_406 });
    expect(await rejection(verifier(clock).verify(dayAndMore))).toBe('token lifetime exceeds the maximum');
    const v = verifier(clock, { maxTokenTtlSeconds: 600, clockToleranceSeconds: 0 });
    await expect(v.verify(await hs256({ sub: 'u', grants: [], exp: now + 600 }))).resolves.toMatchObject({ userId: 'u' });
    expect(await rejection(v.verify(await hs256({ sub: 'u', grants: [], exp: now + 601 })))).toBe('token lifetime exceeds the maximum');
  });

  it('refuses a token minted for longer than the maximum, even late in its life', async () => {
    const clock = new FakeClock();
    const v = verifier(clock, { maxTokenTtlSeconds: 600 });
    const now = nowSeconds(clock);
    const issuedLong = await hs256({ sub: 'u', grants: [], iat: now - 3000, exp: now + 60 });
    expect(await rejection(v.verify(issuedLong), issuedLong)).toBe('token lifetime exceeds the maximum');
    await expect(v.verify(await hs256({ sub: 'u', grants: [], iat: now - 540, exp: now + 60 }))).resolves.toMatchObject({ userId: 'u' });
    // Without iat, only the horizon from now counts.
    await expect(v.verify(await hs256({ sub: 'u', grants: [], exp: now + 60 }))).resolves.toMatchObject({ userId: 'u' });
    expect(await rejection(v.verify(await hs256({ sub: 'u', grants: [], iat: 'yesterday', exp: now + 60 } as unknown as JWTPayload)))).toBe(
      'invalid claim iat',
    );
  });

  it('accepts what TokenSigner mints at the maximum lifetime, over the whole of it', async () => {
    const clock = new FakeClock();
    const signer = new TokenSigner({ secret: SECRET, clock, maxTtlSeconds: 600 });
    const { token } = await signer.mint({ userId: 'u', grants: GRANTS, ttlSeconds: 600 });
    const v = verifier(clock, { maxTokenTtlSeconds: 600 });
    await expect(v.verify(token)).resolves.toMatchObject({ userId: 'u' });
    clock.advance(600_000);
    await expect(v.verify(token)).resolves.toMatchObject({ userId: 'u' });
  });

  it('checks issuer and audience when configured', async () => {
    const clock = new FakeClock();
    const v = verifier(clock, { issuer: 'https://auth.example', audience: 'heliograph' });
    const claims = { sub: 'u', grants: [], exp: nowSeconds(clock) + 60 };
    await expect(v.verify(await hs256({ ...claims, iss: 'https://auth.example', aud: ['other', 'heliograph'] }))).resolves.toMatchObject({ userId: 'u' });
    expect(await rejection(v.verify(await hs256({ ...claims, iss: 'https://evil.example', aud: 'heliograph' })))).toBe('issuer mismatch');
    expect(await rejection(v.verify(await hs256({ ...claims, iss: 'https://auth.example', aud: 'other' })))).toBe('audience mismatch');
    expect(await rejection(v.verify(await hs256({ ...claims, aud: 'heliograph' })))).toBe('missing claim iss');
    expect(await rejection(v.verify(await hs256({ ...claims, iss: 'https://auth.example' })))).toBe('missing claim aud');
  });

  it('verifies tokens from a signer with the same issuer and audience', async () => {
    const clock = new FakeClock();
    const signer = new TokenSigner({ secret: SECRET, clock, issuer: 'hg', audience: 'rooms' });
    const { token } = await signer.mint({ userId: 'u', grants: GRANTS, ttlSeconds: 60 });
    await expect(verifier(clock, { issuer: 'hg', audience: 'rooms' }).verify(token)).resolves.toMatchObject({ userId: 'u' });
  });
});

describe('JWKS tokens', () => {
  let server: Server;
  let jwksUrl: string;
  let fetches = 0;
  const keys: Record<string, { privateKey: CryptoKey; jwk: JWK }> = {};

  beforeAll(async () => {
    for (const [kid, alg] of [
      ['rsa-1', 'RS256'],
      ['ec-1', 'ES256'],
      ['ps-1', 'PS256'],
      ['ed-1', 'EdDSA'],
    ] as const) {
      const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {});
      keys[kid] = { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
    }
    server = createServer((req, res) => {
      fetches++;
      if (req.url !== '/.well-known/jwks.json') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: Object.values(keys).map((k) => k.jwk) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  function sign(kid: string, alg: string, payload: JWTPayload): Promise<string> {
    return new SignJWT(payload).setProtectedHeader({ alg, kid }).sign(keys[kid]!.privateKey);
  }

  it('verifies RS256, ES256, PS256 and EdDSA, fetching the JWKS once', async () => {
    fetches = 0;
    const clock = new FakeClock();
    const v = verifier(clock, { jwksUrl });
    const exp = nowSeconds(clock) + 300;
    const tokens = await Promise.all([
      sign('rsa-1', 'RS256', { sub: 'rsa-user', grants: GRANTS, exp }),
      sign('ec-1', 'ES256', { sub: 'ec-user', grants: GRANTS, exp }),
      sign('ps-1', 'PS256', { sub: 'ps-user', grants: GRANTS, exp }),
      sign('ed-1', 'EdDSA', { sub: 'ed-user', grants: GRANTS, exp }),
    ]);
    for (let round = 0; round < 25; round++) {
      const identities = await Promise.all(tokens.map((t) => v.verify(t)));
      expect(identities.map((i) => i.userId)).toEqual(['rsa-user', 'ec-user', 'ps-user', 'ed-user']);
    }
    expect(fetches).toBe(1);
  });

  it('still accepts HS256 next to the JWKS', async () => {
    const clock = new FakeClock();
    const token = await hs256({ sub: 'local', grants: [], exp: nowSeconds(clock) + 60 });
    await expect(verifier(clock, { jwksUrl }).verify(token)).resolves.toMatchObject({ userId: 'local' });
  });

  it('rejects an unknown kid cleanly, without refetching within the cooldown', async () => {
    fetches = 0;
    const clock = new FakeClock();
    const v = verifier(clock, { jwksUrl });
    const exp = nowSeconds(clock) + 300;
    await v.verify(await sign('rsa-1', 'RS256', { sub: 'u', grants: [], exp }));
    const { privateKey } = await generateKeyPair('RS256');
    const stranger = await new SignJWT({ sub: 'u', grants: [], exp }).setProtectedHeader({ alg: 'RS256', kid: 'rotated-away' }).sign(privateKey);
    for (let i = 0; i < 5; i++) {
      expect(await rejection(v.verify(stranger), stranger)).toBe('unknown signing key');
    }
    expect(fetches).toBe(1);
  });

  it('rejects a token signed by a key the JWKS does not hold under that kid', async () => {
    const clock = new FakeClock();
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ sub: 'u', grants: [], exp: nowSeconds(clock) + 60 }).setProtectedHeader({ alg: 'ES256', kid: 'ec-1' }).sign(privateKey);
    expect(await rejection(verifier(clock, { jwksUrl }).verify(forged), forged)).toBe('bad signature');
  });

  it('rejects expired and bad-claim JWKS tokens like HS256 ones', async () => {
    const clock = new FakeClock();
    const v = verifier(clock, { jwksUrl, clockToleranceSeconds: 0 });
    const expired = await sign('ec-1', 'ES256', { sub: 'u', grants: [], exp: nowSeconds(clock) - 1 });
    expect(await rejection(v.verify(expired), expired)).toBe('token expired');
    const noGrants = await sign('ec-1', 'ES256', { sub: 'u', exp: nowSeconds(clock) + 60 });
    expect(await rejection(v.verify(noGrants), noGrants)).toBe('missing claim grants');
  });

  it('refuses JWKS tokens that live longer than the maximum, like HS256 ones', async () => {
    const clock = new FakeClock();
    const v = verifier(clock, { jwksUrl, maxTokenTtlSeconds: 3600 });
    const now = nowSeconds(clock);
    for (const [kid, alg] of [
      ['rsa-1', 'RS256'],
      ['ec-1', 'ES256'],
    ] as const) {
      const eternal = await sign(kid, alg, { sub: 'u', grants: [], exp: 1e15 });
      expect(await rejection(v.verify(eternal), eternal)).toBe('token lifetime exceeds the maximum');
      const longIssued = await sign(kid, alg, { sub: 'u', grants: [], iat: now, exp: now + 7200 });
      expect(await rejection(v.verify(longIssued), longIssued)).toBe('token lifetime exceeds the maximum');
      await expect(v.verify(await sign(kid, alg, { sub: 'u', grants: [], iat: now, exp: now + 3600 }))).resolves.toMatchObject({ userId: 'u' });
    }
  });

  it('never uses a JWKS public key as an HMAC secret', async () => {
    const clock = new FakeClock();
    const v = createTokenVerifier({ jwksUrl, clockToleranceSeconds: 0, clock });
    const confused = await hs256({ sub: 'u', grants: [], exp: nowSeconds(clock) + 60 }, JSON.stringify(keys['rsa-1']!.jwk), { kid: 'rsa-1' });
    expect(await rejection(v.verify(confused), confused)).toMatch(/no secret/);
  });

  it('reports an unreachable JWKS as unavailable keys', async () => {
    const clock = new FakeClock();
    const v = createTokenVerifier({ jwksUrl: jwksUrl.replace('jwks.json', 'missing.json'), clockToleranceSeconds: 0, clock });
    const token = await sign('rsa-1', 'RS256', { sub: 'u', grants: [], exp: nowSeconds(clock) + 60 });
    expect(await rejection(v.verify(token), token)).toBe('signing keys unavailable');
  });
});
