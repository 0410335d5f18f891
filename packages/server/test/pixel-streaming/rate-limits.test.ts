import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/wait.js';
import { PsClient, startPsServer, type PsTestServer } from './ps-client.js';

/** Message rates per player identity and per address, shared by their sockets. */
let ps: PsTestServer;
const sockets: PsClient[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) {
    s.close();
  }
  await ps?.close();
});

async function player(userId?: string, forwardedFor?: string): Promise<PsClient> {
  const query = userId ? `?token=${encodeURIComponent(await ps.server.token(userId))}` : '';
  const options = forwardedFor ? { headers: { 'x-forwarded-for': forwardedFor } } : {};
  const client = await PsClient.connect(`${ps.playerUrl}${query}`, `player ${userId ?? ''}`, options);
  sockets.push(client);
  await client.expectType('config');
  return client;
}

/** A streamer socket that has only said hello: every frame it sends is one of ours. */
async function streamer(forwardedFor?: string): Promise<PsClient> {
  const options = forwardedFor ? { headers: { 'x-forwarded-for': forwardedFor } } : {};
  const client = await PsClient.connect(ps.streamerUrl, 'streamer', options);
  sockets.push(client);
  await client.expect({ type: 'identify' });
  await client.expectType('config');
  return client;
}

let time = 0;
const pongs = (client: PsClient) => client.log.filter((m) => m.type === 'pong').length;

/** Sends `count` pings at once; resolves with how many were answered once each was answered or dropped. */
async function pings(client: PsClient, count: number): Promise<number> {
  const drops = ps.app.pixelStreaming!.drops;
  const [droppedBefore, pongsBefore] = [drops.rate_limited, pongs(client)];
  for (let i = 0; i < count; i++) {
    client.send({ type: 'ping', time: ++time });
  }
  const answered = () => pongs(client) - pongsBefore;
  await until(() => answered() + drops.rate_limited - droppedBefore >= count, 5000, 'pings answered or dropped');
  return answered();
}

describe('Pixel Streaming message rates follow the user and the address, not the socket', () => {
  it('a player that opens a fresh socket every 100 ms gets no more than its user rate over 20 s', async () => {
    const rate = 20;
    const burst = 40;
    // The connection rate per user (admission) is lifted, to measure the message rate alone.
    ps = await startPsServer(
      { auth: { players: true }, messagesPerSecond: 50, messageBurst: 20, userMessagesPerSecond: rate, userMessageBurst: burst },
      { limits: { connectionsPerSecondPerUser: 1000, connectionBurstPerUser: 1000 } },
    );
    // Bystanders on the same address: a streamer (counted apart) and another player.
    const bystanders = [await streamer(), await player('carol')];
    let answered = 0;
    for (let step = 0; step < 200; step++) {
      const mallory = await player('mallory');
      answered += await pings(mallory, 30);
      mallory.close();
      for (const bystander of bystanders) {
        expect(await pings(bystander, 1)).toBe(1);
      }
      ps.clock.advance(100);
    }
    expect(answered).toBeLessThanOrEqual(burst + 20 * rate);
    expect(answered).toBeGreaterThanOrEqual(0.9 * (burst + 20 * rate));
  }, 60_000);

  it("two sockets of one player identity share the user's budget; each keeps its own share", async () => {
    ps = await startPsServer({ auth: { players: true }, messagesPerSecond: 100, messageBurst: 15, userMessagesPerSecond: 10, userMessageBurst: 20 });
    const [tab1, tab2, bob] = [await player('alice'), await player('alice'), await player('bob')];
    expect(await pings(tab1, 30)).toBe(15);
    expect(await pings(tab2, 10)).toBe(5);
    expect(await pings(bob, 15)).toBe(15);
    ps.clock.advance(1000);
    expect(await pings(tab2, 15)).toBe(10);
  });

  it('anonymous players behind one address share its budget; streamers from it are counted apart and share theirs', async () => {
    ps = await startPsServer(
      { messagesPerSecond: 1000, messageBurst: 1000, addressMessagesPerSecond: 4, addressMessageBurst: 25 },
      { http: { trustProxy: 'loopback' } },
    );
    const office = '203.0.113.7';
    const [p1, p2, far] = [await player(undefined, office), await player(undefined, office), await player(undefined, '198.51.100.9')];
    const [s1, s2] = [await streamer(office), await streamer(office)];
    expect(await pings(p1, 15)).toBe(15);
    expect(await pings(p2, 15)).toBe(10);
    expect(await pings(far, 15)).toBe(15);
    expect(await pings(s1, 15)).toBe(15);
    expect(await pings(s2, 15)).toBe(10);
    ps.clock.advance(1000);
    expect(await pings(p2, 15)).toBe(4);
  });
});
