import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../helpers/run-cli.js';
import { createLogger } from '../../src/shared/logger.js';
import { TestClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * Built-in accounts with the admin role sign in to the console (`POST /admin/login`) and act as a
 * read-write key would; nobody else does, a join token is no console session (nor the reverse),
 * and taking the role away (or the account) ends the sessions at once.
 */
let server: TestServer;
const logLines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunk
        .toString()
        .split('\n')
        .filter(Boolean)
        .forEach((l) => logLines.push(JSON.parse(l) as Record<string, unknown>));
      done();
    },
  });
  server = await startServer({}, { logger: createLogger('info', sink) });
  await server.app.accounts.add('root', 'root-password-1');
  await server.app.accounts.add('eve', 'eve-password-1');
});
afterAll(() => server.close());

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const run = await runCliCaptured([...args, '--data-dir', server.config.dataDir], server.config.dataDir);
  return { code: run.code, out: run.stdout, err: run.stderr };
}

async function signIn(username: string, password: string): Promise<{ status: number; token?: string }> {
  const res = await fetch(`${server.url}/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const body = (await res.json()) as { token?: string };
  return { status: res.status, ...(body.token ? { token: body.token } : {}) };
}

const overview = async (token: string) => (await fetch(`${server.url}/v1/console/overview`, { headers: { authorization: `Bearer ${token}` } })).status;

describe('console sign-in with an admin account', () => {
  it('lets in an admin, as a read-write key, with the account in the audit lines', async () => {
    expect(await cli(['users', 'role', 'root', 'admin'])).toMatchObject({ code: 0, out: 'root is an admin of the console\n' });
    const { status, token } = await signIn('root', 'root-password-1');
    expect(status).toBe(200);
    expect(await overview(token!)).toBe(200);
    const client = await TestClient.open(server.wsUrl, await server.token('victim'));
    const peer = (await client.ok('room.join', { room: 'admin-room' })).peer.id;
    const kick = await fetch(`${server.url}/v1/rooms/admin-room/peers/${peer}/kick`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token!}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(kick.status).toBe(204);
    await client.nextEvent('room.kicked');
    expect(logLines).toContainEqual(expect.objectContaining({ audit: true, apiKey: 'account:root', method: 'POST', status: 204 }));
    expect(logLines).toContainEqual(expect.objectContaining({ audit: true, username: 'root', msg: 'console sign-in' }));
    await client.close();
  });

  it('refuses a wrong password and an account without the role alike', async () => {
    expect((await signIn('root', 'wrong-password')).status).toBe(401);
    expect((await signIn('eve', 'eve-password-1')).status).toBe(401);
    expect((await signIn('nobody', 'whatever-password')).status).toBe(401);
    expect(await cli(['users', 'role', 'nobody', 'admin'])).toMatchObject({ code: 1, err: expect.stringContaining('no user "nobody"') });
    expect(await cli(['users', 'role', 'eve', 'owner'])).toMatchObject({ code: 2 });
  });

  it('throttles password guessing like the demo login', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) {
      codes.push((await signIn('guessed', `guess-${i}-password`)).status);
    }
    expect(codes).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('keeps join tokens and console sessions apart', async () => {
    expect(await overview(await server.token('root'))).toBe(401);
    const { token } = await signIn('root', 'root-password-1');
    const refused = await TestClient.open(server.wsUrl, token!).then(
      (c) => c.closed.then((closed) => ({ ready: c.log.some((e) => e.type === 'session.ready'), closed })),
      (err: Error) => ({ ready: false, closed: err.message }),
    );
    // Refused before session.ready: the console session is signed with another key than join tokens.
    expect(refused.ready).toBe(false);
  });

  it('ends the sessions at once when the role or the account goes', async () => {
    const { token } = await signIn('root', 'root-password-1');
    expect(await overview(token!)).toBe(200);
    expect(await cli(['users', 'role', 'root', 'none'])).toMatchObject({ code: 0, out: 'root is not an admin of the console\n' });
    expect(await overview(token!)).toBe(401);
    await cli(['users', 'role', 'root', 'admin']);
    const again = await signIn('root', 'root-password-1');
    expect(await overview(again.token!)).toBe(200);
    expect(await cli(['users', 'remove', 'root'])).toMatchObject({ code: 0 });
    expect(await overview(again.token!)).toBe(401);
    // A new account of the same name is no admin.
    await server.app.accounts.add('root', 'root-password-2');
    expect((await signIn('root', 'root-password-2')).status).toBe(401);
  });
});
