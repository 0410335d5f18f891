import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { AccountStore } from '../../src/auth/accounts.js';
import { LoginThrottle } from '../../src/auth/login-throttle.js';
import { TokenSigner } from '../../src/auth/token-signer.js';
import { createTokenVerifier } from '../../src/auth/token-verifier.js';
import { registerAuthRoutes } from '../../src/http/auth-routes.js';
import { installErrorHandler } from '../../src/http/error-handler.js';
import { ErrorReporter } from '../../src/shared/error-reporter.js';
import { createLogger } from '../../src/shared/logger.js';
import { openDatabase, type Database } from '../../src/storage/database.js';
import { loadOrCreateSecret } from '../../src/storage/secret.js';

const LOGIN_GRANTS = [{ room: 'team-*', join: true, create: true }];
const WINDOW_MS = 60_000;

describe('POST /v1/auth/login', () => {
  let dataDir: string;
  let db: Database;
  let clock: FakeClock;
  let secret: string;
  let logs: string;
  let app: FastifyInstance;

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'heliograph-login-'));
    db = openDatabase(dataDir);
    clock = new FakeClock();
    secret = loadOrCreateSecret(dataDir);
    logs = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logs += chunk.toString();
        callback();
      },
    });
    const logger = createLogger('trace', sink);
    const accounts = new AccountStore(db, { clock });
    await accounts.add('alice', 'alice-password', 'Alice');
    await accounts.add('bob', 'bob-password');
    app = Fastify({ loggerInstance: logger }) as unknown as FastifyInstance;
    installErrorHandler(app, new ErrorReporter({ logger, clock }));
    registerAuthRoutes(app, {
      accounts,
      signer: new TokenSigner({ secret, clock }),
      throttle: new LoginThrottle({
        clock,
        maxFailuresPerUserAndAddress: 3,
        backoffMs: 1000,
        backoffMaxMs: 60_000,
        maxFailuresPerAddress: 5,
        slowdownFailuresPerUser: 100,
        maxSignupsPerAddress: 5,
        windowMs: WINDOW_MS,
      }),
      tokenTtlSeconds: 900,
      loginGrants: LOGIN_GRANTS,
      signup: false,
    });
    await app.ready();
  });

  afterEach(async () => {
    await app.close();
    db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function login(username: unknown, password: unknown, remoteAddress = '10.0.0.1') {
    return app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username, password }, remoteAddress });
  }

  it('returns a token the verifier accepts, with the login grants', async () => {
    const res = await login('alice', 'alice-password');
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json<{ token: string; expiresAt: number; user: unknown }>();
    expect(body.expiresAt).toBe(clock.now() + 900_000);
    expect(body.user).toEqual({ username: 'alice', displayName: 'Alice' });
    const verifier = createTokenVerifier({ secret, clockToleranceSeconds: 0, clock });
    expect(await verifier.verify(body.token)).toEqual({ userId: 'alice', name: 'Alice', grants: LOGIN_GRANTS, expiresAt: body.expiresAt });

    const bob = (await login('bob', 'bob-password')).json<{ token: string; user: unknown }>();
    expect(bob.user).toEqual({ username: 'bob' });
    expect(await verifier.verify(bob.token)).toEqual({ userId: 'bob', grants: LOGIN_GRANTS, expiresAt: body.expiresAt });
  });

  it('answers a wrong password and an unknown user identically', async () => {
    const wrong = await login('alice', 'not-her-password');
    const unknown = await login('mallory', 'alice-password');
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.body).toBe(unknown.body);
    expect(wrong.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: 'invalid username or password' } });
  });

  it.each([
    ['no body', undefined],
    ['missing password', { username: 'alice' }],
    ['missing username', { password: 'alice-password' }],
    ['empty username', { username: '', password: 'alice-password' }],
    ['username too long', { username: 'a'.repeat(65), password: 'alice-password' }],
    ['password too long', { username: 'alice', password: 'p'.repeat(1025) }],
    ['object username', { username: { $ne: null }, password: 'alice-password' }],
    ['array body', ['alice', 'alice-password']],
  ])('answers a schema violation (%s) with 400 BAD_REQUEST', async (_name, payload) => {
    const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: payload as object });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
  });

  it('backs off a (user, address) pair, even with the right password, but not the user elsewhere', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await login('alice', `wrong-${i}`, '10.0.1.1')).statusCode).toBe(401);
    }
    const limited = await login('alice', 'alice-password', '10.0.1.1');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.json()).toMatchObject({ error: { code: 'RATE_LIMITED', retryAfterMs: 1000 } });
    expect((await login('alice', 'alice-password', '10.0.1.99')).statusCode).toBe(200);
    expect((await login('bob', 'bob-password', '10.0.1.1')).statusCode).toBe(200);
    clock.advance(1000);
    expect((await login('alice', 'alice-password', '10.0.1.1')).statusCode).toBe(200);
  });

  it('throttles failures per address, across usernames', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await login(`user${i}`, 'whatever-password', '10.0.2.1')).statusCode).toBe(401);
    }
    const limited = await login('alice', 'alice-password', '10.0.2.1');
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await login('alice', 'alice-password', '10.0.2.2')).statusCode).toBe(200);
  });

  it('a success resets the pair and does not count against the address', async () => {
    await login('alice', 'wrong-1');
    await login('alice', 'wrong-2');
    expect((await login('alice', 'alice-password')).statusCode).toBe(200);
    await login('alice', 'wrong-3');
    await login('alice', 'wrong-4');
    expect((await login('alice', 'alice-password')).statusCode).toBe(200);
    // 4 failures and 2 successes from 10.0.0.1: one more failure reaches the address limit of 5.
    await login('bob', 'wrong-5');
    expect((await login('bob', 'bob-password')).statusCode).toBe(429);
  });

  it('cannot be outrun by parallel guesses', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => login(`user${i}`, `guess-${i}`, '10.0.3.1')));
    const statuses = results.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429, 429]);
    const onePair = await Promise.all(Array.from({ length: 10 }, (_, i) => login('alice', `guess-${i}`, '10.0.3.2')));
    expect(onePair.map((r) => r.statusCode).sort()).toEqual([401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
  });

  it('never logs the token or the password', async () => {
    const res = await login('alice', 'alice-password');
    const { token } = res.json<{ token: string }>();
    await login('alice', 'wrong-password');
    expect(logs).toContain('login succeeded');
    expect(logs).toContain('login failed');
    for (const part of token.split('.')) {
      expect(logs).not.toContain(part);
    }
    expect(logs).not.toContain('alice-password');
    expect(logs).not.toContain('wrong-password');
  });
});
