import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { TestClient } from '../helpers/client.js';
import { startServer, TEST_SECRET, type TestServer } from '../helpers/server.js';
import { PsClient, startPsServer, type PsTestServer } from '../pixel-streaming/ps-client.js';

/**
 * `auth.maxTokenTtlSeconds` on every way in: a token that would live too long (`exp` = 10^15, or
 * minted for longer than the cap) is refused on /ws, the REST lobby and the Pixel Streaming
 * endpoints, HS256 and JWKS alike; and nothing Heliograph mints goes over it.
 */

const TOO_LONG = 'token lifetime exceeds the maximum';
const GRANTS = [{ room: '*', join: true, create: true }];

let server: TestServer | undefined;
let ps: PsTestServer | undefined;
afterEach(async () => {
  await server?.close();
  await ps?.close();
  server = undefined;
  ps = undefined;
});

function seconds(clock: FakeClock): number {
  return Math.floor(clock.now() / 1000);
}

/** A token signed with the server's shared secret, as a business backend would mint one. */
function hs256(claims: JWTPayload): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(TEST_SECRET));
}

async function lobby(token: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${server!.url}/v1/lobby/rooms`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

describe('tokens that live too long are refused', () => {
  it('on /ws with 4401 and on the REST lobby with 401: exp = 10^15', async () => {
    const clock = new FakeClock();
    server = await startServer({}, { clock });
    const eternal = await hs256({ sub: 'mallory', grants: GRANTS, exp: 1e15 });
    expect(await TestClient.refused(server.wsUrl, eternal)).toEqual({ code: 4401, reason: TOO_LONG });
    expect(await lobby(eternal)).toEqual({ status: 401, body: { error: { code: 'UNAUTHORIZED', message: TOO_LONG } } });
    expect(server.app.rooms.count).toBe(0);

    const day = await hs256({ sub: 'ok', grants: GRANTS, exp: seconds(clock) + 86_400 });
    const client = await TestClient.open(server.wsUrl, day);
    expect((await client.ok('room.join', { room: 'r' })).peer.userId).toBe('ok');
    await client.close();
    expect((await lobby(day)).status).toBe(200);
  });

  it('as configured: a token minted for longer than auth.maxTokenTtlSeconds, even late in its life', async () => {
    const clock = new FakeClock();
    server = await startServer({ auth: { maxTokenTtlSeconds: 600, tokenTtlSeconds: 600 } }, { clock });
    const now = seconds(clock);
    const issuedForAnHour = await hs256({ sub: 'u', grants: GRANTS, iat: now - 3540, exp: now + 60 });
    expect(await TestClient.refused(server.wsUrl, issuedForAnHour)).toEqual({ code: 4401, reason: TOO_LONG });
    expect((await lobby(issuedForAnHour)).status).toBe(401);
    const anHourAhead = await hs256({ sub: 'u', grants: GRANTS, exp: now + 3600 });
    expect(await TestClient.refused(server.wsUrl, anHourAhead)).toEqual({ code: 4401, reason: TOO_LONG });
  });

  it('by Pixel Streaming players and streamers (HTTP 401 on the upgrade)', async () => {
    ps = await startPsServer({ auth: { players: true, streamers: true, streamerToken: 'streamer-token-0123456789' } });
    const now = seconds(ps.clock);
    const eternal = await hs256({ sub: 'mallory', grants: [{ room: 'ps:*', join: true, create: true }], exp: 1e15 });
    expect(await PsClient.refusal(`${ps.playerUrl}?token=${eternal}`)).toBe(401);
    expect(await PsClient.refusal(`${ps.streamerUrl}?token=${eternal}`)).toBe(401);
    expect(await PsClient.refusal(`${ps.sfuUrl}?token=${eternal}`)).toBe(401);
    const fine = await hs256({ sub: 'host', grants: [{ room: 'ps:*', join: true, create: true }], exp: now + 3600 });
    const streamer = await PsClient.connect(`${ps.streamerUrl}?token=${fine}`);
    await streamer.expectType('identify');
    const player = await PsClient.connect(`${ps.playerUrl}?token=${fine}`);
    await player.expectType('config');
  });
});

describe('JWKS tokens that live too long are refused', () => {
  let jwks: Server;
  let jwksUrl: string;
  let privateKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' };
    jwks = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  });

  afterAll(async () => {
    jwks.closeAllConnections();
    await new Promise((resolve) => jwks.close(resolve));
  });

  function es256(claims: JWTPayload): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'ec-1' }).sign(privateKey);
  }

  it('on /ws and the lobby, while a JWKS token within the cap works', async () => {
    const clock = new FakeClock();
    server = await startServer({ auth: { jwksUrl, maxTokenTtlSeconds: 7200 } }, { clock });
    const now = seconds(clock);
    const eternal = await es256({ sub: 'mallory', grants: GRANTS, exp: 1e15 });
    expect(await TestClient.refused(server.wsUrl, eternal)).toEqual({ code: 4401, reason: TOO_LONG });
    expect((await lobby(eternal)).status).toBe(401);
    const aWeek = await es256({ sub: 'u', grants: GRANTS, iat: now, exp: now + 7 * 86_400 });
    expect(await TestClient.refused(server.wsUrl, aWeek)).toEqual({ code: 4401, reason: TOO_LONG });

    const twoHours = await es256({ sub: 'jwks-user', grants: GRANTS, iat: now, exp: now + 7200 });
    const client = await TestClient.open(server.wsUrl, twoHours);
    expect((await client.ok('room.join', { room: 'r' })).peer.userId).toBe('jwks-user');
    await client.close();
  });
});

describe('minting never goes over auth.maxTokenTtlSeconds', () => {
  const RW = 'rw-key-0123456789-0123456789-0123456789';

  async function mint(body: Record<string, unknown>): Promise<{ status: number; body: { token?: string; expiresAt?: number; error?: unknown } }> {
    const res = await fetch(`${server!.url}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${RW}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { token?: string; expiresAt?: number; error?: unknown } };
  }

  it('the control API answers a longer ttlSeconds with BAD_REQUEST, and fits its default under the cap', async () => {
    const clock = new FakeClock();
    server = await startServer(
      { auth: { maxTokenTtlSeconds: 1800, tokenTtlSeconds: 600 }, controlApi: { keys: [{ id: 'ops', key: RW, scope: 'read-write' }] } },
      { clock },
    );
    expect(await mint({ userId: 'u', room: 'r', ttlSeconds: 1801 })).toEqual({
      status: 400,
      body: { error: { code: 'BAD_REQUEST', message: 'ttlSeconds 1801 is over the maximum token lifetime of 1800 s (auth.maxTokenTtlSeconds)' } },
    });
    const capped = await mint({ userId: 'u', room: 'r', ttlSeconds: 1800 });
    expect(capped).toMatchObject({ status: 201, body: { expiresAt: clock.now() + 1_800_000 } });
    // Absent, the ttl is 3600 s, lowered to the cap.
    const byDefault = await mint({ userId: 'u', room: 'r' });
    expect(byDefault).toMatchObject({ status: 201, body: { expiresAt: clock.now() + 1_800_000 } });
    const client = await TestClient.open(server.wsUrl, byDefault.body.token!);
    expect((await client.ok('room.join', { room: 'r' })).peer.userId).toBe('u');
    await client.close();
  });

  it('the control API keeps its one-hour default under the default cap', async () => {
    const clock = new FakeClock();
    server = await startServer({ controlApi: { keys: [{ id: 'ops', key: RW, scope: 'read-write' }] } }, { clock });
    expect(await mint({ userId: 'u', room: 'r' })).toMatchObject({ status: 201, body: { expiresAt: clock.now() + 3_600_000 } });
    expect((await mint({ userId: 'u', room: 'r', ttlSeconds: 604_800 })).status).toBe(400);
  });
});
