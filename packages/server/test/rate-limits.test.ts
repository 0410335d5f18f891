import type { Response } from '@heliograph/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { TestClient } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(
    clients
      .splice(0)
      .filter((c) => c.ws.readyState === c.ws.OPEN)
      .map((c) => c.close()),
  );
  await server.close();
});

async function open(userId: string, forwardedFor?: string): Promise<TestClient> {
  const headers = forwardedFor ? { 'x-forwarded-for': forwardedFor } : undefined;
  const client = await TestClient.open(server.wsUrl, await server.token(userId), headers ? { headers } : {});
  clients.push(client);
  return client;
}

let nextId = 1;

/**
 * Sends `count` pings at once and returns their answers, in order. Stops waiting when the server
 * closes the socket (after a flood), so answers that never came are simply missing.
 */
async function flood(client: TestClient, count: number): Promise<Response[]> {
  const answers: Response[] = [];
  const sent = Array.from({ length: count }, () => {
    const id = nextId++;
    return client.requestRaw(JSON.stringify({ id, type: 'ping', data: {} }), id).then((r) => answers.push(r));
  });
  await Promise.race([Promise.all(sent), client.closed]);
  return answers;
}

const accepted = (answers: Response[]) => answers.filter((r) => r.ok).length;
const refusals = (answers: Response[]) => answers.flatMap((r) => (r.ok ? [] : [r.error]));

describe('request rates follow the user and the address, not the socket', () => {
  it('a client that reconnects on every 4429 gets no more than its user rate over 20 s', async () => {
    const clock = new FakeClock();
    const rate = 20;
    const burst = 40;
    // The connection rate per user (admission, test/admission/) is lifted, to measure the request rate alone.
    const reconnectFreely = { connectionsPerSecondPerUser: 1000, connectionBurstPerUser: 1000 };
    server = await startServer(
      { limits: { messagesPerSecond: 50, messageBurst: 20, userMessagesPerSecond: rate, userMessageBurst: burst, floodCloseAfter: 5, ...reconnectFreely } },
      { clock },
    );
    // A bystander pair in another room, on the same address.
    const carol = await open('carol');
    const dave = await open('dave');
    await carol.ok('room.join', { room: 'quiet' });
    const daveId = (await dave.ok('room.join', { room: 'quiet' })).peer.id;
    const victim = await open('victim');
    const victimId = (await victim.ok('room.join', { room: 'loud' })).peer.id;

    let mallory: TestClient | undefined;
    let acks = 0;
    let closes4429 = 0;
    for (let step = 0; step < 200; step++) {
      if (!mallory || mallory.ws.readyState !== mallory.ws.OPEN) {
        mallory = await open('mallory');
        const joined = await Promise.race([mallory.request('room.join', { room: 'loud' }), mallory.closed]);
        acks += 'ok' in joined && joined.ok ? 1 : 0;
      }
      const signals = Array.from({ length: 30 }, (_, i) => {
        const id = nextId++;
        const frame = JSON.stringify({ id, type: 'signal.send', data: { to: victimId, signal: { n: i } } });
        return mallory!.requestRaw(frame, id).then((r) => (acks += r.ok ? 1 : 0));
      });
      const ended = await Promise.race([Promise.all(signals).then(() => undefined), mallory.closed]);
      closes4429 += ended?.code === 4429 ? 1 : 0;
      // The bystander is unaffected throughout.
      expect(await carol.ok('signal.send', { to: daveId, signal: { step } })).toEqual({});
      clock.advance(100);
    }
    expect(closes4429).toBeGreaterThan(100);
    // 20 s at 20/s after a burst of 40; close to it, so a client that slows down is not starved.
    expect(acks).toBeLessThanOrEqual(burst + 20 * rate);
    expect(acks).toBeGreaterThanOrEqual(0.9 * (burst + 20 * rate));
    expect((await dave.nextEvent('signal', (e) => (e.data.signal as { step?: number }).step === 199)).data.signal).toEqual({ step: 199 });
  }, 60_000);

  it("two connections of one user share the user's budget; each keeps its own share; other users are unaffected", async () => {
    const clock = new FakeClock();
    server = await startServer(
      { limits: { messagesPerSecond: 100, messageBurst: 15, userMessagesPerSecond: 10, userMessageBurst: 20, floodCloseAfter: 1000 } },
      { clock },
    );
    const [tab1, tab2, bob] = [await open('alice'), await open('alice'), await open('bob')];
    // One connection cannot take the whole user budget: its own bucket stops it at 15.
    expect(accepted(await flood(tab1, 30))).toBe(15);
    const second = await flood(tab2, 10);
    expect(accepted(second)).toBe(5);
    const refused = refusals(second);
    expect(refused).toHaveLength(5);
    // The user's bucket refused: 10/s, so the next token is 100 ms away. Answered with the request's id.
    expect(refused[0]).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 100 });
    expect(second.filter((r) => !r.ok).every((r) => typeof r.id === 'number')).toBe(true);
    expect(accepted(await flood(bob, 15))).toBe(15);
    clock.advance(1000);
    expect(accepted(await flood(tab2, 15))).toBe(10);
  });

  it('users behind one address each get their own budget until the address budget is used up', async () => {
    const clock = new FakeClock();
    server = await startServer(
      {
        http: { trustProxy: 'loopback' },
        limits: {
          messagesPerSecond: 1000,
          messageBurst: 1000,
          userMessagesPerSecond: 10,
          userMessageBurst: 10,
          addressMessagesPerSecond: 4,
          addressMessageBurst: 25,
          floodCloseAfter: 1000,
        },
      },
      { clock },
    );
    const office = '203.0.113.7';
    const [u1, u2, u3] = [await open('u1', office), await open('u2', office), await open('u3', office)];
    const elsewhere = await open('erin', '198.51.100.9');
    await elsewhere.ok('room.join', { room: 'elsewhere' });
    // u1 floods: 10 accepted, the rest refused by u1's own bucket without spending the address's.
    const first = await flood(u1, 20);
    expect(accepted(first)).toBe(10);
    expect(refusals(first)[0]).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 100 });
    expect(accepted(await flood(u2, 10))).toBe(10);
    // 25 - 20: the address's bucket (4/s, a token every 250 ms) refuses the rest.
    const third = await flood(u3, 10);
    expect(accepted(third)).toBe(5);
    expect(refusals(third)[0]).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 250 });
    expect(accepted(await flood(elsewhere, 9))).toBe(9); // its own budget, less room.join's token
    clock.advance(1000);
    expect(accepted(await flood(u3, 10))).toBe(4);
  });

  it('without trusted proxies a forwarded address is ignored: spoofing it escapes nothing', async () => {
    const clock = new FakeClock();
    server = await startServer(
      { limits: { messagesPerSecond: 1000, messageBurst: 1000, userMessageBurst: 10, addressMessageBurst: 15, floodCloseAfter: 1000 } },
      { clock },
    );
    const a = await open('a', '203.0.113.1');
    const b = await open('b', '203.0.113.2');
    expect(accepted(await flood(a, 10))).toBe(10);
    expect(accepted(await flood(b, 10))).toBe(5);
  });
});
