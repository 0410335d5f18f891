import { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { createLogger } from '../src/shared/logger.js';
import { TestClient } from './helpers/client.js';
import { startServer, TEST_SECRET, type TestServer } from './helpers/server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('WebSocket authentication', () => {
  it('a connection without a token is closed with 4401 before it can do anything', async () => {
    server = await startServer();
    expect(await TestClient.refused(server.wsUrl)).toEqual({ code: 4401, reason: 'missing token' });
    expect(server.app.rooms.count).toBe(0);
  });

  it('a token with a bad signature is refused with 4401', async () => {
    server = await startServer();
    const forged = await new SignJWT({ grants: [{ room: '*', create: true }] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('mallory')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('not-the-server-secret-0123456789abcdef'));
    const closed = await TestClient.refused(server.wsUrl, forged);
    expect(closed.code).toBe(4401);
  });

  it('garbage instead of a token is refused with 4401', async () => {
    server = await startServer();
    expect((await TestClient.refused(server.wsUrl, 'not.a.jwt')).code).toBe(4401);
  });

  it('an expired token is refused with 4401 and never reaches a room (fake clock)', async () => {
    const clock = new FakeClock();
    server = await startServer({}, { clock });
    const token = await server.token('late', undefined, { ttlSeconds: 60 });
    clock.advance(61_000 + server.config.auth.clockToleranceSeconds * 1000);
    const closed = await TestClient.refused(server.wsUrl, token);
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/expired/);
    expect(server.app.rooms.count).toBe(0);
  });

  it('accepts the token from an Authorization: Bearer header', async () => {
    server = await startServer();
    const token = await server.token('alice');
    const client = await TestClient.open(server.wsUrl, undefined, { headers: { authorization: `Bearer ${token}` } });
    expect((await client.ok('room.join', { room: 'r' })).peer.userId).toBe('alice');
    await client.close();
  });

  it('a token signed by the business with the shared secret works, claims included', async () => {
    server = await startServer();
    const token = await new SignJWT({ name: 'Dora', grants: [{ room: 'shop-1', join: true, create: true }], metadata: { tier: 'gold' } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('dora')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(TEST_SECRET));
    const client = await TestClient.open(server.wsUrl, token);
    const joined = await client.ok('room.join', { room: 'shop-1', metadata: { mic: true } });
    expect(joined.peer).toMatchObject({ userId: 'dora', name: 'Dora', metadata: { tier: 'gold', mic: true } });
    expect((await client.fail('room.join', { room: 'shop-2' })).code).toBe('ALREADY_IN_ROOM');
    await client.ok('room.leave', {});
    expect((await client.fail('room.join', { room: 'shop-2' })).code).toBe('FORBIDDEN');
    await client.close();
  });

  it('tokens never appear in logs', async () => {
    let logged = '';
    const sink = new Writable({
      write(chunk, _enc, done) {
        logged += String(chunk);
        done();
      },
    });
    server = await startServer({ log: { level: 'trace' } }, { logger: createLogger('trace', sink) });
    const token = await server.token('alice');
    const client = await TestClient.open(server.wsUrl, token);
    await client.ok('room.join', { room: 'r' });
    await client.close();
    await TestClient.refused(server.wsUrl, `${token}x`);
    await fetch(`${server.url}/healthz?token=${token}`);
    expect(logged.length).toBeGreaterThan(0);
    expect(logged).not.toContain(token.split('.')[2]);
    expect(logged).not.toContain(token.split('.')[1]);
  });

  it('upgrades on other paths are refused with 404', async () => {
    server = await startServer();
    const error = await TestClient.open(server.url.replace('http', 'ws') + '/nope', await server.token('a')).then(
      () => null,
      (err: Error) => err,
    );
    expect(error?.message).toMatch(/404/);
  });
});
