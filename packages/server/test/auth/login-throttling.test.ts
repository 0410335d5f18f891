import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import type { Config } from '../../src/config/schema.js';
import { TestClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * Login throttling against a real server over real HTTP: a user under attack keeps her access,
 * the attacker's (username, address) pair backs off, and behind a proxy each client address is
 * its own. Backoff time passes on a FakeClock.
 */

let server: TestServer | undefined;
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.close();
  server = undefined;
});

const ALICE = { username: 'alice', password: 'alice-password' };
/** Alice's own address, the attacker's, and a few more. */
const ALICE_ADDRESS = '198.51.100.7';
const ATTACKER = '203.0.113.66';

type Auth = Partial<Config['auth']>;

async function start(auth: Auth = {}, trustProxy?: string): Promise<{ clock: FakeClock; srv: TestServer }> {
  const clock = new FakeClock();
  server = await startServer(
    {
      auth: { loginMaxFailuresPerUserAndAddress: 3, loginBackoffSeconds: 1, loginBackoffMaxSeconds: 8, loginMaxFailuresPerAddress: 10, ...auth },
      ...(trustProxy ? { http: { trustProxy } } : {}),
    },
    { clock },
  );
  return { clock, srv: server };
}

interface Answer {
  status: number;
  retryAfter: string | null;
  body: { token?: string; error?: { code: string; retryAfterMs?: number } };
}

/** POSTs with fetch, as a client behind the proxy at `forwardedFor` when given. */
async function post(path: string, body: unknown, forwardedFor?: string): Promise<Answer> {
  const res = await fetch(`${server!.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Answer['body'] };
}

function login(password: string, forwardedFor?: string, username = 'alice'): Promise<Answer> {
  return post('/v1/auth/login', { username, password }, forwardedFor);
}

async function signupAlice(forwardedFor?: string): Promise<void> {
  expect((await post('/v1/auth/signup', ALICE, forwardedFor)).status).toBe(200);
}

function expectBackoff(answer: Answer, seconds: number): void {
  expect(answer.status).toBe(429);
  expect(answer.retryAfter).toBe(String(seconds));
  expect(answer.body.error).toEqual({ code: 'RATE_LIMITED', message: expect.any(String), retryAfterMs: seconds * 1000 });
}

describe('login throttling behind a trusted proxy', () => {
  it('an attacker hammering alice backs off, doubling, and alice still logs in from her own address', async () => {
    const { clock, srv } = await start({}, '127.0.0.1');
    await signupAlice(ALICE_ADDRESS);
    for (let i = 0; i < 3; i++) {
      expect((await login(`guess-${i}`, ATTACKER)).status).toBe(401);
    }
    expectBackoff(await login('guess-3', ATTACKER), 1);
    // Refused before the password is even looked at: the right one does not help the attacker's pair.
    expectBackoff(await login(ALICE.password, ATTACKER), 1);

    const mine = await login(ALICE.password, ALICE_ADDRESS);
    expect(mine.status).toBe(200);
    const client = await TestClient.open(srv.wsUrl, mine.body.token!);
    clients.push(client);

    // Each wait passed buys the attacker one more guess, and a backoff twice as long (capped at 8 s here).
    let wait = 1;
    for (const next of [2, 4, 8, 8]) {
      clock.advance(wait * 1000);
      expect((await login('another-guess', ATTACKER)).status).toBe(401);
      expectBackoff(await login('another-guess', ATTACKER), next);
      expect((await login(ALICE.password, ALICE_ADDRESS)).status).toBe(200);
      wait = next;
    }
  });

  it('counts each client address on its own, and limits one address across usernames', async () => {
    await start({}, '127.0.0.1');
    await signupAlice(ALICE_ADDRESS);
    for (let i = 0; i < 10; i++) {
      expect((await login('password-1', '203.0.113.1', `user${i}`)).status).toBe(401);
    }
    const limited = await login(ALICE.password, '203.0.113.1');
    expect(limited.status).toBe(429);
    expect(Number(limited.retryAfter)).toBeGreaterThan(0);
    // Prepending an address of its own choosing does not help: the proxy appends the real one.
    expect((await login(ALICE.password, '192.0.2.1, 203.0.113.1')).status).toBe(429);
    expect((await login(ALICE.password, '203.0.113.2')).status).toBe(200);
    expect((await login(ALICE.password, ALICE_ADDRESS)).status).toBe(200);
  });

  it('under a distributed attack, each failing address backs off from its first failure; alice is not refused', async () => {
    await start({ loginSlowdownFailuresPerUser: 4, loginMaxFailuresPerUserAndAddress: 5 }, '127.0.0.1');
    await signupAlice(ALICE_ADDRESS);
    for (let i = 0; i < 4; i++) {
      expect((await login('botnet-guess', `203.0.113.${i}`)).status).toBe(401);
    }
    for (let i = 10; i < 14; i++) {
      expect((await login('botnet-guess', `203.0.113.${i}`)).status).toBe(401);
      expectBackoff(await login('botnet-guess', `203.0.113.${i}`), 1);
    }
    expect((await login(ALICE.password, ALICE_ADDRESS)).status).toBe(200);
    // An address with a single earlier failure of its own, far below the per-pair allowance, waits.
    expectBackoff(await login(ALICE.password, '203.0.113.13'), 1);
  });

  it('limits sign-ups per client address', async () => {
    await start({ signupMaxPerAddress: 2 }, '127.0.0.1');
    const codes = [];
    for (let i = 0; i < 3; i++) {
      codes.push((await post('/v1/auth/signup', { username: `bulk${i}`, password: 'bulk-password' }, '203.0.113.5')).status);
    }
    expect(codes).toEqual([200, 200, 429]);
    expect((await post('/v1/auth/signup', { username: 'other', password: 'other-password' }, '203.0.113.6')).status).toBe(200);
  });
});

describe('login throttling without a trusted proxy', () => {
  it('ignores a spoofed X-Forwarded-For: the per-address limit cannot be dodged', async () => {
    await start();
    await signupAlice();
    for (let i = 0; i < 10; i++) {
      expect((await login('guess', `203.0.113.${100 + i}`, `user${i}`)).status).toBe(401);
    }
    expect((await login(ALICE.password, '203.0.113.200')).status).toBe(429);
    expect((await login(ALICE.password)).status).toBe(429);
  });

  it('counts real client addresses on their own (127.0.0.2 attacks, alice on 127.0.0.3)', async () => {
    await start();
    await signupAlice();
    for (let i = 0; i < 3; i++) {
      expect((await loginFrom('127.0.0.2', `guess-${i}`)).status).toBe(401);
    }
    const limited = await loginFrom('127.0.0.2', ALICE.password);
    expect(limited.status).toBe(429);
    expect(limited.retryAfter).toBe('1');
    expect((await loginFrom('127.0.0.3', ALICE.password)).status).toBe(200);
  });
});

/** A login over a connection from `localAddress` (Linux routes all of 127/8 to loopback). */
function loginFrom(localAddress: string, password: string): Promise<{ status: number; retryAfter: string | undefined }> {
  const body = JSON.stringify({ username: 'alice', password });
  return new Promise((resolve, reject) => {
    const req = request(
      `${server!.url}/v1/auth/login`,
      { method: 'POST', localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
