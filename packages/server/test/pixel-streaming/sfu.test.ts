import { afterEach, describe, expect, it } from 'vitest';
import { PsClient, connectPlayer, connectStreamer, startPsServer, type PsTestServer } from './ps-client.js';

/** §3.3 "SFU", observed on Wilbur: the SFU is a player upstream and a streamer downstream. */
let ps: PsTestServer;
afterEach(async () => {
  await ps?.close();
});

async function connectSfu(): Promise<PsClient> {
  const sfu = await PsClient.connect(ps.sfuUrl, 'sfu');
  await sfu.expect({ type: 'identify' });
  await sfu.expect({ type: 'config', peerConnectionOptions: {}, protocolVersion: '1.3.0' });
  sfu.send({ type: 'endpointId', id: 'SFU' });
  await sfu.expect({ type: 'endpointIdConfirm', committedId: 'SFU' });
  return sfu;
}

describe('Pixel Streaming SFU flow', () => {
  it('relays streamer → SFU → player and back, with data channels and layer preferences', async () => {
    ps = await startPsServer();
    const streamer = await connectStreamer(ps, 'DefaultStreamer');
    const sfu = await connectSfu();
    const sfuPlayerId = 'Player0';
    sfu.send({ type: 'listStreamers' });
    await sfu.expect({ type: 'streamerList', ids: ['DefaultStreamer', 'SFU'] });
    sfu.send({ type: 'subscribe', streamerId: 'DefaultStreamer' });
    await streamer.expect({ type: 'playerConnected', dataChannel: true, sfu: true, playerId: sfuPlayerId });
    streamer.send({ type: 'offer', playerId: sfuPlayerId, sdp: 'streamer offer' });
    await sfu.expect({ type: 'offer', playerId: sfuPlayerId, sdp: 'streamer offer' });
    sfu.send({ type: 'answer', sdp: 'sfu answer' });
    await streamer.expect({ type: 'answer', sdp: 'sfu answer', playerId: sfuPlayerId });
    sfu.send({ type: 'startStreaming' });

    const player = await connectPlayer(ps);
    player.send({ type: 'listStreamers' });
    await player.expect({ type: 'streamerList', ids: ['DefaultStreamer', 'SFU'] });
    player.send({ type: 'subscribe', streamerId: 'SFU' });
    await sfu.expect({ type: 'playerConnected', dataChannel: true, sfu: false, playerId: 'Player1' });
    sfu.send({ type: 'offer', playerId: 'Player1', sdp: 'sfu offer', sfu: true, scalabilityMode: 'L1T3' });
    await player.expect({ type: 'offer', sdp: 'sfu offer', sfu: true, scalabilityMode: 'L1T3' });
    player.send({ type: 'answer', sdp: 'player answer', minBitrateBps: 0, maxBitrateBps: 0 });
    await sfu.expect({ type: 'answer', sdp: 'player answer', minBitrateBps: 0, maxBitrateBps: 0, playerId: 'Player1' });
    player.send({ type: 'dataChannelRequest' });
    await sfu.expect({ type: 'dataChannelRequest', playerId: 'Player1' });
    sfu.send({ type: 'peerDataChannels', playerId: 'Player1', sendStreamId: 1, recvStreamId: 2 });
    await player.expect({ type: 'peerDataChannels', sendStreamId: 1, recvStreamId: 2 });
    player.send({ type: 'peerDataChannelsReady' });
    await sfu.expect({ type: 'peerDataChannelsReady', playerId: 'Player1' });
    sfu.send({ type: 'streamerDataChannels', playerId: 'Player1', sendStreamId: 2, recvStreamId: 1 });
    await streamer.expect({ type: 'streamerDataChannels', playerId: 'Player1', sendStreamId: 2, recvStreamId: 1, sfuId: sfuPlayerId });
    player.send({ type: 'layerPreference', spatialLayer: 1, temporalLayer: 2 });
    await sfu.expect({ type: 'layerPreference', spatialLayer: 1, temporalLayer: 2, playerId: 'Player1' });
    streamer.send({ type: 'layerPreference', spatialLayer: 0, temporalLayer: 1, playerId: sfuPlayerId });
    await sfu.expect({ type: 'layerPreference', spatialLayer: 0, temporalLayer: 1, playerId: sfuPlayerId });

    await player.expectQuiet();
    await streamer.expectQuiet();
    await sfu.expectQuiet();
  });

  it('tells the SFU streamerDisconnected when its upstream leaves, then drops the SFU’s players', async () => {
    ps = await startPsServer();
    const streamer = await connectStreamer(ps, 'DefaultStreamer');
    const sfu = await connectSfu();
    sfu.send({ type: 'subscribe', streamerId: 'DefaultStreamer' });
    await streamer.expectType('playerConnected');
    const player = await connectPlayer(ps);
    player.send({ type: 'subscribe', streamerId: 'SFU' });
    await sfu.expect({ type: 'playerConnected', dataChannel: true, sfu: false, playerId: 'Player1' });
    streamer.close();
    await sfu.expect({ type: 'streamerDisconnected' });
    await sfu.expect({ type: 'playerDisconnected', playerId: 'Player1' });
    expect((await player.closed).code).toBe(1005);
    // The SFU itself stays connected, and is no longer listed to players until it streams again.
    const next = await connectPlayer(ps);
    next.send({ type: 'listStreamers' });
    await next.expect({ type: 'streamerList', ids: [] });
  });

  it('stopStreaming drops the SFU’s players; an SFU cannot subscribe to itself', async () => {
    ps = await startPsServer();
    const sfu = await connectSfu();
    sfu.send({ type: 'subscribe', streamerId: 'SFU' });
    await sfu.expectQuiet();
    const player = await connectPlayer(ps);
    player.send({ type: 'subscribe', streamerId: 'SFU' });
    await sfu.expectType('playerConnected');
    sfu.send({ type: 'stopStreaming' });
    await sfu.expect({ type: 'playerDisconnected', playerId: 'Player1' });
    expect((await player.closed).code).toBe(1005);
  });
});
