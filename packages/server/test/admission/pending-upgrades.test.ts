import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { PsClient } from '../pixel-streaming/ps-client.js';
import { httpGet, upgradeRefusal } from './sockets.js';

/** A JWKS server that holds every answer until `release()`: token checks stay in progress meanwhile. */
class SlowJwks {
  readonly #held: ServerResponse[] = [];
  #body = '';
  #server: Server | undefined;
  url = '';
  requests = 0;

  async start(jwk: object): Promise<void> {
    this.#body = JSON.stringify({ keys: [jwk] });
    this.#server = createServer((_req, res) => {
      this.requests++;
      this.#held.push(res);
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/jwks.json`;
  }

  release(): void {
    for (const res of this.#held.splice(0)) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(this.#body);
    }
  }

  async close(): Promise<void> {
    this.release();
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

let privateKey: CryptoKey;
const jwks = new SlowJwks();
let server: TestServer | undefined;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey;
  await jwks.start({ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' });
});
afterAll(() => jwks.close());
afterEach(async () => {
  jwks.release();
  await server?.close();
  server = undefined;
});

/** A token only the (slow) JWKS can verify. */
function jwksToken(userId: string): Promise<string> {
  return new SignJWT({ grants: [{ room: '*', join: true, create: true }] })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setSubject(userId)
    .setExpirationTime('1h')
    .sign(privateKey);
}

const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });

async function pendingUpgrades(): Promise<number> {
  const { body } = await httpGet(server!.url, '/metrics');
  return Number(/^heliograph_pending_upgrades (\d+)$/m.exec(body)?.[1]);
}

async function untilPending(count: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((await pendingUpgrades()) === count) {
      return;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`pending upgrades never reached ${count}`);
}

describe('upgrades whose token is being verified', () => {
  it('are capped per client address (429) and in total (503), on the native and Pixel Streaming endpoints alike', async () => {
    server = await startServer({
      auth: { jwksUrl: jwks.url },
      http: { trustProxy: '127.0.0.1' },
      limits: { maxPendingUpgradesPerAddress: 2, maxPendingUpgrades: 3 },
      pixelStreaming: { enabled: true, streamerPort: 0, sfuPort: 0, auth: { players: true } },
    });
    const playerUrl = `${server.url.replace(/^http/, 'ws')}/`;
    const native = TestClient.open(server.wsUrl, await jwksToken('a1'), from('10.0.0.1'));
    const player = PsClient.connect(`${playerUrl}?token=${await jwksToken('a2')}`, 'player', from('10.0.0.1'));
    await untilPending(2);

    const perAddress = await upgradeRefusal(`${server.wsUrl}?token=${await jwksToken('a3')}`, from('10.0.0.1'));
    expect(perAddress.status).toBe(429);
    expect(perAddress.headers['retry-after']).toBe('1');

    const other = TestClient.open(server.wsUrl, await jwksToken('b1'), from('10.0.0.2'));
    await untilPending(3);
    const total = await upgradeRefusal(`${server.wsUrl}?token=${await jwksToken('c1')}`, from('10.0.0.3'));
    expect(total.status).toBe(503);
    expect(total.headers['retry-after']).toBe('1');
    expect((await upgradeRefusal(`${playerUrl}?token=${await jwksToken('c2')}`, from('10.0.0.3'))).status).toBe(503);

    // The keys arrive: the held upgrades go through, and their places are free again.
    jwks.release();
    const clients = await Promise.all([native, other]);
    await Promise.all(clients.map((c) => c.nextEvent('session.ready')));
    await (await player).expectType('config');
    expect(await pendingUpgrades()).toBe(0);
    const again = await TestClient.open(server.wsUrl, await jwksToken('a4'), from('10.0.0.1'));
    await again.nextEvent('session.ready');
    await Promise.all([...clients, again].map((c) => c.close()));
    (await player).ws.close();
  });

  it('count towards limits.maxConnections, so the cap holds while tokens are checked', async () => {
    server = await startServer({ auth: { jwksUrl: jwks.url }, limits: { maxConnections: 2 } });
    const held = [TestClient.open(server.wsUrl, await jwksToken('u1')), TestClient.open(server.wsUrl, await jwksToken('u2'))];
    await untilPending(2);
    // An HS256 token is verified at once, but the two held upgrades fill the cap.
    expect(await TestClient.refused(server.wsUrl, await server.token('u3'))).toEqual({ code: 4503, reason: 'server at connection limit' });
    jwks.release();
    const clients = await Promise.all(held);
    await Promise.all(clients.map((c) => c.nextEvent('session.ready')));
    expect(await TestClient.refused(server.wsUrl, await server.token('u3'))).toMatchObject({ code: 4503 });
    await Promise.all(clients.map((c) => c.close()));
  });
});
