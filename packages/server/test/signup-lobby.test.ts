import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer | undefined;
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.close();
  server = undefined;
});

function post(path: string, body: unknown) {
  return fetch(`${server!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

describe('POST /v1/auth/signup', () => {
  it('creates an account and returns a working token; the name is then taken', async () => {
    server = await startServer();
    const res = await post('/v1/auth/signup', { username: 'dana', password: 'dana-password', displayName: 'Dana' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; user: { username: string; displayName: string } };
    expect(body.user).toEqual({ username: 'dana', displayName: 'Dana' });
    const client = await TestClient.open(server.wsUrl, body.token);
    clients.push(client);
    expect((await client.ok('room.join', { room: 'x' })).peer).toMatchObject({ userId: 'dana', name: 'Dana' });

    const again = await post('/v1/auth/signup', { username: 'dana', password: 'other-password' });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('CONFLICT');
    expect((await post('/v1/auth/login', { username: 'dana', password: 'dana-password' })).status).toBe(200);
  });

  it('rejects bad input with BAD_REQUEST', async () => {
    server = await startServer();
    for (const body of [
      { username: 'x' },
      { username: 'bad name', password: 'long-enough' },
      { username: 'ok', password: 'short' },
      { username: 'ok', password: 'long-enough', extra: 1 },
    ]) {
      const res = await post('/v1/auth/signup', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
    }
  });

  it('limits sign-ups per address', async () => {
    server = await startServer({ auth: { signupMaxPerAddress: 3 } });
    const codes = [];
    for (let i = 0; i < 5; i++) {
      codes.push((await post('/v1/auth/signup', { username: `bulk${i}`, password: 'bulk-password' })).status);
    }
    expect(codes).toEqual([200, 200, 200, 429, 429]);
  });

  it('is absent when auth.signup is off', async () => {
    server = await startServer({ auth: { signup: false } });
    expect((await post('/v1/auth/signup', { username: 'eve', password: 'eve-password' })).status).toBe(404);
  });
});

describe('GET /v1/lobby/rooms', () => {
  it('lists the live rooms the token may join, with how full they are', async () => {
    server = await startServer();
    const owner = await TestClient.open(server.wsUrl, await server.token('owner'));
    clients.push(owner);
    await owner.ok('room.join', { room: 'team-a', create: { metadata: { topic: 'standup' } } });
    const other = await TestClient.open(server.wsUrl, await server.token('other'));
    clients.push(other);
    await other.ok('room.join', { room: 'secret' });

    const token = await server.token('viewer', [{ room: 'team-*', join: true }]);
    const res = await fetch(`${server.url}/v1/lobby/rooms`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      rooms: [{ id: 'team-a', peers: 1, maxPeers: 50, metadata: { topic: 'standup' } }],
      canCreate: false,
    });
  });

  it('needs a valid bearer token', async () => {
    server = await startServer();
    expect((await fetch(`${server.url}/v1/lobby/rooms`)).status).toBe(401);
    const bad = await fetch(`${server.url}/v1/lobby/rooms`, { headers: { authorization: 'Bearer nope' } });
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
  });
});

describe('demo and SDK bundle', () => {
  it('serves the demo at / and the SDK bundle, and nothing else from the SDK folder', async () => {
    server = await startServer();
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Heliograph</title>');
    const sdk = await fetch(`${server.url}/sdk/heliograph-client.js`);
    expect(sdk.status).toBe(200);
    expect(sdk.headers.get('content-type')).toMatch(/javascript/);
    expect(await sdk.text()).toContain('HeliographClient');
    expect((await fetch(`${server.url}/sdk/index.js`)).status).toBe(404);
  });

  it('is off with demo.enabled false', async () => {
    server = await startServer({ demo: { enabled: false } });
    expect((await fetch(`${server.url}/`)).status).toBe(404);
  });
});

describe('GET /metrics', () => {
  it('serves Prometheus text with what the node holds now', async () => {
    server = await startServer();
    const client = await TestClient.open(server.wsUrl, await server.token('m'));
    clients.push(client);
    await client.ok('room.join', { room: 'metered' });
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^heliograph_connections 1$/m);
    expect(text).toMatch(/^heliograph_rooms 1$/m);
    expect(text).toMatch(/^heliograph_peers 1$/m);
    expect(text).toContain('heliograph_process_cpu_seconds_total');
  });

  it('is off with metrics.enabled false', async () => {
    server = await startServer({ metrics: { enabled: false } });
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
  });
});
