import type { IncomingMessage } from 'node:http';
import { FakeClock } from '@heliograph/common';
import { describe, expect, it } from 'vitest';
import { TokenSigner } from '../auth/token-signer.js';
import { createTokenVerifier } from '../auth/token-verifier.js';
import { authenticatePlayer, authenticateStreamer, sameSecret } from './upgrade-auth.js';

const SECRET = 'upgrade-auth-test-secret-0123456789-abcdef';
const STREAMER_TOKEN = 'the-shared-streamer-token';
const GRANTS = [{ room: 'ps:S1', join: true, create: true }];

/** The real HS256 verifier and signer on fake time, and a token for `u1`. */
async function auth() {
  const clock = new FakeClock();
  const verifier = createTokenVerifier({ secret: SECRET, clockToleranceSeconds: 5, clock });
  const { token } = await new TokenSigner({ secret: SECRET, clock }).mint({ userId: 'u1', grants: GRANTS, ttlSeconds: 600 });
  return { verifier, token };
}

/** An upgrade request as `ws` hands it over: only the target and the headers are read. */
function upgrade(url: string, authorization?: string): IncomingMessage {
  return { url, headers: authorization === undefined ? {} : { authorization } } as IncomingMessage;
}

/** The AppError code and message a promise rejects with. */
async function refusal(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => 'resolved',
    (err: unknown) => ({ ...(err as object), message: (err as Error).message }),
  );
}

describe('authenticatePlayer', () => {
  it('asks nothing when auth.players is off, even for a bad token', async () => {
    const { verifier } = await auth();
    expect(await authenticatePlayer(upgrade('/?token=garbage'), verifier, false)).toBeUndefined();
  });

  it('reads the token from ?token= or from Authorization: Bearer', async () => {
    const { verifier, token } = await auth();
    expect((await authenticatePlayer(upgrade(`/?token=${token}`), verifier, true))?.userId).toBe('u1');
    expect((await authenticatePlayer(upgrade('/', `Bearer ${token}`), verifier, true))?.userId).toBe('u1');
  });

  it('refuses a missing or bad token with UNAUTHORIZED', async () => {
    const { verifier } = await auth();
    expect(await refusal(authenticatePlayer(upgrade('/'), verifier, true))).toMatchObject({ code: 'UNAUTHORIZED', message: 'missing token' });
    expect(await refusal(authenticatePlayer(upgrade('/', 'Basic dTE6cHc='), verifier, true))).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(await refusal(authenticatePlayer(upgrade('/?token=garbage'), verifier, true))).toMatchObject({ code: 'UNAUTHORIZED' });
  });
});

describe('authenticateStreamer', () => {
  it('gives no credential when auth.streamers is off', async () => {
    const { verifier } = await auth();
    expect(await authenticateStreamer(upgrade('/'), { verifier, required: false, streamerToken: STREAMER_TOKEN })).toEqual({ kind: 'none' });
  });

  it('takes the shared streamer token (any id allowed) or a JWT (its grants decide)', async () => {
    const { verifier, token } = await auth();
    const opts = { verifier, required: true, streamerToken: STREAMER_TOKEN };
    expect(await authenticateStreamer(upgrade(`/?token=${STREAMER_TOKEN}`), opts)).toEqual({ kind: 'token' });
    expect(await authenticateStreamer(upgrade('/', `Bearer ${STREAMER_TOKEN}`), opts)).toEqual({ kind: 'token' });
    const jwt = await authenticateStreamer(upgrade(`/?token=${token}`), opts);
    expect(jwt).toMatchObject({ kind: 'jwt', identity: { userId: 'u1', grants: GRANTS } });
  });

  it('refuses a missing token, a near miss of the shared token, and the shared token when none is configured', async () => {
    const { verifier } = await auth();
    const withToken = { verifier, required: true, streamerToken: STREAMER_TOKEN };
    expect(await refusal(authenticateStreamer(upgrade('/'), withToken))).toMatchObject({ code: 'UNAUTHORIZED', message: 'missing token' });
    expect(await refusal(authenticateStreamer(upgrade(`/?token=${STREAMER_TOKEN}x`), withToken))).toMatchObject({ code: 'UNAUTHORIZED' });
    const withoutToken = { verifier, required: true, streamerToken: undefined };
    expect(await refusal(authenticateStreamer(upgrade(`/?token=${STREAMER_TOKEN}`), withoutToken))).toMatchObject({ code: 'UNAUTHORIZED' });
  });
});

describe('sameSecret', () => {
  it('matches only the same string, whatever the lengths', () => {
    expect(sameSecret(STREAMER_TOKEN, STREAMER_TOKEN)).toBe(true);
    expect(sameSecret(`${STREAMER_TOKEN}x`, STREAMER_TOKEN)).toBe(false);
    expect(sameSecret('', STREAMER_TOKEN)).toBe(false);
    expect(sameSecret(STREAMER_TOKEN.toUpperCase(), STREAMER_TOKEN)).toBe(false);
  });
});
