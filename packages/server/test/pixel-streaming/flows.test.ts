import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/wait.js';
import { PsClient, connectPlayer, connectStreamer, startPsServer, subscribedPlayer, type PsTestServer } from './ps-client.js';

/** §3.3 and §4 of the reference: subscriptions, relays, guards, kicks, departures and renames. */
let ps: PsTestServer;
afterEach(async () => {
  await ps?.close();
});

describe('Pixel Streaming subscriptions', () => {
  it('answers subscribe to an unknown streamer with subscribeFailed', async () => {
    ps = await startPsServer();
    const player = await connectPlayer(ps);
    player.send({ type: 'subscribe', streamerId: 'Nope' });
    await player.expect({ type: 'subscribeFailed', message: 'Streamer Nope does not exist.' });
  });

  it('holds the player limit per streamer and frees the slot when a player leaves', async () => {
    ps = await startPsServer({ maxPlayersPerStreamer: 1 });
    const streamer = await connectStreamer(ps, 'S1');
    const { player: first, playerId } = await subscribedPlayer(ps, streamer, 'S1');
    const second = await connectPlayer(ps);
    second.send({ type: 'subscribe', streamerId: 'S1' });
    await second.expect({ type: 'subscribeFailed', message: 'Streamer S1 is full. Max players = 1.' });
    first.close();
    await streamer.expect({ type: 'playerDisconnected', playerId });
    second.send({ type: 'subscribe', streamerId: 'S1' });
    await streamer.expect({ type: 'playerConnected', dataChannel: true, sfu: false, playerId: 'Player1' });
  });

  it('re-subscribing moves the player: the old streamer hears playerDisconnected', async () => {
    ps = await startPsServer();
    const a = await connectStreamer(ps, 'A');
    const b = await connectStreamer(ps, 'B');
    const { player, playerId } = await subscribedPlayer(ps, a, 'A');
    player.send({ type: 'subscribe', streamerId: 'B' });
    await a.expect({ type: 'playerDisconnected', playerId });
    await b.expect({ type: 'playerConnected', dataChannel: true, sfu: false, playerId });
    player.send({ type: 'unsubscribe' });
    await b.expect({ type: 'playerDisconnected', playerId });
    player.send({ type: 'unsubscribe' });
    await player.expectQuiet();
    await a.expectQuiet();
    await b.expectQuiet();
  });

  it('routes streamer messages only to its own subscribers and drops ones without playerId', async () => {
    ps = await startPsServer();
    const a = await connectStreamer(ps, 'A');
    const b = await connectStreamer(ps, 'B');
    const { player: pa } = await subscribedPlayer(ps, a, 'A');
    const { player: pb, playerId: idB } = await subscribedPlayer(ps, b, 'B');
    a.send({ type: 'offer', playerId: idB, sdp: 'cross-tenant' });
    a.send({ type: 'disconnectPlayer', playerId: idB, reason: 'not yours' });
    a.send({ type: 'offer', sdp: 'no target' });
    a.send({ type: 'iceCandidate', playerId: 'Player99', candidate: { candidate: 'x' } });
    await a.expectQuiet();
    await pb.expectQuiet();
    await pa.expectQuiet();
    expect(ps.app.pixelStreaming!.drops.unroutable).toBe(4);
  });

  it('stamps the sender’s own playerId over one a player made up', async () => {
    ps = await startPsServer();
    const streamer = await connectStreamer(ps, 'S1');
    const { player, playerId } = await subscribedPlayer(ps, streamer, 'S1');
    player.send({ type: 'answer', sdp: 'a', playerId: 'SomeoneElse' });
    await streamer.expect({ type: 'answer', sdp: 'a', playerId });
    player.send({ type: 'dataChannelRequest' });
    await streamer.expect({ type: 'dataChannelRequest', playerId });
  });
});

describe('Pixel Streaming kicks and departures', () => {
  it('kicks a player with 1011 and the reason; the streamer hears playerDisconnected; others stay', async () => {
    ps = await startPsServer();
    const streamer = await connectStreamer(ps, 'S1');
    const { player: kicked, playerId } = await subscribedPlayer(ps, streamer, 'S1');
    const { player: kept } = await subscribedPlayer(ps, streamer, 'S1');
    streamer.send({ type: 'disconnectPlayer', playerId, reason: 'AFK' });
    expect(await kicked.closed).toEqual({ code: 1011, reason: 'AFK' });
    await streamer.expect({ type: 'playerDisconnected', playerId });
    await kept.expectQuiet();
  });

  it('closes every subscribed player (no status code, 1005) when its streamer leaves', async () => {
    ps = await startPsServer();
    const streamer = await connectStreamer(ps, 'S1');
    const other = await connectStreamer(ps, 'S2');
    const { player: p1 } = await subscribedPlayer(ps, streamer, 'S1');
    const { player: p2 } = await subscribedPlayer(ps, streamer, 'S1');
    const { player: elsewhere } = await subscribedPlayer(ps, other, 'S2');
    streamer.close();
    expect((await p1.closed).code).toBe(1005);
    expect((await p2.closed).code).toBe(1005);
    elsewhere.send({ type: 'listStreamers' });
    await elsewhere.expect({ type: 'streamerList', ids: ['S2'] });
    // Players were not sent streamerDisconnected (Wilbur sends it to SFUs only).
    expect(p1.log.map((m) => m.type)).toEqual(['config']);
  });
});

describe('Pixel Streaming streamer ids', () => {
  it('renames: subscribers get streamerIdChanged before the streamer’s confirmation', async () => {
    ps = await startPsServer();
    const streamer = await connectStreamer(ps, 'Old');
    const { player } = await subscribedPlayer(ps, streamer, 'Old');
    streamer.send({ type: 'endpointId', id: 'New' });
    await player.expect({ type: 'streamerIdChanged', newID: 'New' });
    await streamer.expect({ type: 'endpointIdConfirm', committedId: 'New' });
    player.send({ type: 'listStreamers' });
    await player.expect({ type: 'streamerList', ids: ['New'] });
  });

  it('de-duplicates ids, fixing Epic’s quirks (own id kept, ids ending in digits, free ids)', async () => {
    ps = await startPsServer();
    const first = await connectStreamer(ps, 'DefaultStreamer');
    await connectStreamer(ps, 'DefaultStreamer', 'DefaultStreamer1');
    await connectStreamer(ps, 'Cam1');
    await connectStreamer(ps, 'Cam1', 'Cam11');
    // A streamer re-sending its own id keeps it (Epic renamed it to DefaultStreamer2).
    first.send({ type: 'endpointId', id: 'DefaultStreamer' });
    await first.expect({ type: 'endpointIdConfirm', committedId: 'DefaultStreamer' });
    first.close();
    await first.closed;
    // A free id is never suffixed (Epic gave DefaultStreamer2 while DefaultStreamer1 existed).
    await until(() => !ps.app.pixelStreaming!.signalling.streamers.get('DefaultStreamer'));
    await connectStreamer(ps, 'DefaultStreamer');
  });

  it('replaces the holder of an id when configured (a restarted streamer keeps its name)', async () => {
    ps = await startPsServer({ duplicateStreamerIds: 'replace' });
    const stale = await connectStreamer(ps, 'S1');
    const { player } = await subscribedPlayer(ps, stale, 'S1');
    await connectStreamer(ps, 'S1');
    expect(await stale.closed).toEqual({ code: 4409, reason: 'replaced by a new connection' });
    expect((await player.closed).code).toBe(1005);
  });

  it('refuses a duplicate with 1008 when configured, and ids outside the allowed list', async () => {
    ps = await startPsServer({ duplicateStreamerIds: 'reject', allowedStreamerIds: ['S*'] });
    await connectStreamer(ps, 'S1');
    const dup = await PsClient.connect(ps.streamerUrl);
    dup.send({ type: 'endpointId', id: 'S1' });
    expect(await dup.closed).toEqual({ code: 1008, reason: 'streamer id in use' });
    const squatter = await PsClient.connect(ps.streamerUrl);
    squatter.send({ type: 'endpointId', id: 'Bank' });
    expect(await squatter.closed).toEqual({ code: 1008, reason: 'streamer id not authorized' });
  });
});

describe('Pixel Streaming legacy BrowserSendOffer', () => {
  it('auto-subscribes a player that offers without subscribing to the first streamer', async () => {
    ps = await startPsServer();
    const streamer = await connectStreamer(ps, 'S1');
    await connectStreamer(ps, 'S2');
    const player = await connectPlayer(ps);
    player.send({ type: 'offer', sdp: 'browser offer' });
    await streamer.expect({ type: 'playerConnected', dataChannel: true, sfu: false, playerId: 'Player0' });
    await streamer.expect({ type: 'offer', sdp: 'browser offer', playerId: 'Player0' });
    streamer.send({ type: 'answer', playerId: 'Player0', sdp: 'streamer answer' });
    await player.expect({ type: 'answer', playerId: 'Player0', sdp: 'streamer answer' });
  });

  it('disconnects the player when there is no streamer, or after subscribeFailed when full', async () => {
    ps = await startPsServer({ maxPlayersPerStreamer: 1 });
    const lonely = await connectPlayer(ps);
    lonely.send({ type: 'offer', sdp: 'o' });
    expect((await lonely.closed).code).toBe(1005);
    const streamer = await connectStreamer(ps, 'S1');
    await subscribedPlayer(ps, streamer, 'S1');
    const late = await connectPlayer(ps);
    late.send({ type: 'offer', sdp: 'o' });
    await late.expect({ type: 'subscribeFailed', message: 'Streamer S1 is full. Max players = 1.' });
    expect((await late.closed).code).toBe(1005);
    await streamer.expectQuiet();
  });
});
