import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { TestClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { PsClient } from '../pixel-streaming/ps-client.js';
import { upgradeRefusal } from './sockets.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });

describe('the upgrade rate per client address (before the token is checked)', () => {
  it('stops a bad-token storm with 429 and Retry-After, per address, until the bucket refills', async () => {
    const clock = new FakeClock();
    server = await startServer({ http: { trustProxy: '127.0.0.1' }, limits: { upgradesPerSecondPerAddress: 0.5, upgradeBurstPerAddress: 3 } }, { clock });
    for (let i = 0; i < 3; i++) {
      expect(await TestClient.refused(server.wsUrl, 'not-a-token', from('10.0.0.1'))).toMatchObject({ code: 4401 });
    }
    const refused = await upgradeRefusal(`${server.wsUrl}?token=not-a-token`, from('10.0.0.1'));
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('2');
    // A valid token from that address waits too: the token is not even looked at.
    expect((await upgradeRefusal(`${server.wsUrl}?token=${await server.token('alice')}`, from('10.0.0.1'))).status).toBe(429);

    // Another address is not affected, nor is the same one once a token is back.
    const bob = await TestClient.open(server.wsUrl, await server.token('bob'), from('10.0.0.2'));
    await bob.nextEvent('session.ready');
    clock.advance(2000);
    const alice = await TestClient.open(server.wsUrl, await server.token('alice'), from('10.0.0.1'));
    await alice.nextEvent('session.ready');
    await Promise.all([alice.close(), bob.close()]);
  });

  it('counts an IPv6 client by its /64', async () => {
    const clock = new FakeClock();
    server = await startServer({ http: { trustProxy: '127.0.0.1' }, limits: { upgradesPerSecondPerAddress: 1, upgradeBurstPerAddress: 1 } }, { clock });
    expect(await TestClient.refused(server.wsUrl, 'x', from('2001:db8:0:1::1'))).toMatchObject({ code: 4401 });
    expect((await upgradeRefusal(`${server.wsUrl}?token=x`, from('2001:db8:0:1::2'))).status).toBe(429);
    expect(await TestClient.refused(server.wsUrl, 'x', from('2001:db8:0:2::1'))).toMatchObject({ code: 4401 });
  });

  it('applies on the streamer port as on the main port, to the same buckets', async () => {
    const clock = new FakeClock();
    server = await startServer(
      { limits: { upgradesPerSecondPerAddress: 1, upgradeBurstPerAddress: 2 }, pixelStreaming: { enabled: true, streamerPort: 0, sfuPort: 0 } },
      { clock },
    );
    const streamerUrl = `ws://127.0.0.1:${server.app.pixelStreaming!.ports.streamer}/`;
    expect(await TestClient.refused(server.wsUrl, 'x')).toMatchObject({ code: 4401 });
    const streamer = await PsClient.connect(streamerUrl);
    await streamer.expect({ type: 'identify' });
    expect((await upgradeRefusal(streamerUrl)).status).toBe(429);
    expect((await upgradeRefusal(`${server.wsUrl}?token=x`)).status).toBe(429);
    clock.advance(1000);
    const again = await PsClient.connect(streamerUrl);
    await again.expect({ type: 'identify' });
    again.ws.close();
    streamer.ws.close();
  });
});

describe('the connection rate per user (once the token is verified)', () => {
  it('closes a reconnect storm with 4429 and the time to wait, per user, until the bucket refills', async () => {
    const clock = new FakeClock();
    server = await startServer({ limits: { connectionsPerSecondPerUser: 1, connectionBurstPerUser: 2 } }, { clock });
    const token = await server.token('alice');
    for (let i = 0; i < 2; i++) {
      const client = await TestClient.open(server.wsUrl, token);
      await client.nextEvent('session.ready');
      await client.close();
    }
    expect(await TestClient.refused(server.wsUrl, token)).toEqual({ code: 4429, reason: 'too many connections; retry in 1 s' });
    // Other users are not affected.
    const bob = await TestClient.open(server.wsUrl, await server.token('bob'));
    await bob.nextEvent('session.ready');
    clock.advance(1000);
    const alice = await TestClient.open(server.wsUrl, token);
    await alice.nextEvent('session.ready');
    await Promise.all([alice.close(), bob.close()]);
  });

  it('refuses a Pixel Streaming player with HTTP 429 when its token names a user connecting too fast', async () => {
    const clock = new FakeClock();
    server = await startServer(
      {
        limits: { connectionsPerSecondPerUser: 1, connectionBurstPerUser: 1 },
        pixelStreaming: { enabled: true, streamerPort: 0, sfuPort: 0, auth: { players: true } },
      },
      { clock },
    );
    const playerUrl = `${server.url.replace(/^http/, 'ws')}/?token=${await server.token('carol')}`;
    const first = await PsClient.connect(playerUrl);
    await first.expectType('config');
    const refused = await upgradeRefusal(playerUrl);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    // The same user on the native endpoint shares the bucket.
    expect(await TestClient.refused(server.wsUrl, await server.token('carol'))).toMatchObject({ code: 4429 });
    first.ws.close();
  });
});
