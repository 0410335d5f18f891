import { afterEach, describe, expect, it } from 'vitest';
import { PsClient, connectPlayer, connectStreamer, startPsServer, subscribedPlayer, type PsTestServer } from './ps-client.js';

/** §4.5: server pings to players (UE 5.6+) and a liveness check on streamers, on fake time. */
let ps: PsTestServer;
afterEach(async () => {
  await ps?.close();
});

describe('Pixel Streaming keepalive', () => {
  it('pings players with the server time and drops one that does not answer (1006)', async () => {
    ps = await startPsServer({ playerPingIntervalMs: 30_000 });
    const streamer = await connectStreamer(ps, 'S1');
    const { player: silent, playerId } = await subscribedPlayer(ps, streamer, 'S1');
    const { player: lively } = await subscribedPlayer(ps, streamer, 'S1');
    ps.clock.advance(30_000);
    const time = ps.clock.now();
    await silent.expect({ type: 'ping', time });
    const ping = await lively.expect({ type: 'ping', time });
    lively.send({ type: 'pong', time: ping.time });
    await lively.expectQuiet(); // the server has read the pong
    ps.clock.advance(30_000);
    expect((await silent.closed).code).toBe(1006);
    await streamer.expect({ type: 'playerDisconnected', playerId });
    await lively.expect({ type: 'ping', time: ps.clock.now() });
  });

  it('drops a streamer that stops answering WebSocket pings, and its players', async () => {
    ps = await startPsServer({ streamerPingIntervalMs: 30_000, playerPingIntervalMs: 0 });
    const events: string[] = [];
    ps.app.pixelStreaming!.events.on('streamer.disconnected', (e) => events.push(`${e.streamerId}:${e.reason}`));
    const deaf = await PsClient.connect(ps.streamerUrl, 'deaf', { autoPong: false });
    deaf.send({ type: 'endpointId', id: 'Deaf' });
    await deaf.expectType('identify');
    await deaf.expectType('config');
    await deaf.expect({ type: 'endpointIdConfirm', committedId: 'Deaf' });
    const alive = await connectStreamer(ps, 'Alive');
    const { player } = await subscribedPlayer(ps, deaf, 'Deaf');
    const pinged = new Promise((resolve) => alive.ws.once('ping', resolve));
    ps.clock.advance(30_000);
    await pinged;
    await alive.expectQuiet(); // its automatic pong went out before this ping
    ps.clock.advance(30_000);
    expect((await deaf.closed).code).toBe(1006);
    expect((await player.closed).code).toBe(1005);
    await alive.expectQuiet();
    expect(events).toEqual(['Deaf:timeout']);
  });

  it('sends no pings when the intervals are 0', async () => {
    ps = await startPsServer({ playerPingIntervalMs: 0, streamerPingIntervalMs: 0 });
    const player = await connectPlayer(ps);
    ps.clock.advance(600_000);
    await player.expectQuiet();
  });
});
