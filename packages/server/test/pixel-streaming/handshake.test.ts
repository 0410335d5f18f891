import { afterEach, describe, expect, it } from 'vitest';
import { PsClient, connectPlayer, connectStreamer, startPsServer, type PsTestServer } from './ps-client.js';

/** §3.1 and §3.2 of the reference: what each side sees on connect, exactly and in order. */
let ps: PsTestServer;
afterEach(async () => {
  await ps?.close();
});

describe('Pixel Streaming handshakes', () => {
  it('sends a streamer identify then config, and confirms its id', async () => {
    ps = await startPsServer();
    const streamer = await PsClient.connect(ps.streamerUrl);
    await streamer.expect({ type: 'identify' });
    const config = await streamer.expect({ type: 'config', peerConnectionOptions: {}, protocolVersion: '1.3.0' });
    // Epic's key order on the wire.
    expect(Object.keys(config)).toEqual(['type', 'peerConnectionOptions', 'protocolVersion']);
    streamer.send({ type: 'endpointId', id: 'S1', protocolVersion: '1.0.0' });
    await streamer.expect({ type: 'endpointIdConfirm', committedId: 'S1' });
    await streamer.expectQuiet();
  });

  it('walks a player through config, list, subscribe, offer, answer and ICE (UE 5.7 keeps playerId)', async () => {
    ps = await startPsServer();
    const streamer = await connectStreamer(ps, 'S1');
    const player = await PsClient.connect(ps.playerUrl);
    await player.expect({ type: 'config', peerConnectionOptions: {}, protocolVersion: '1.3.0' });
    player.send({ type: 'listStreamers' });
    await player.expect({ type: 'streamerList', ids: ['S1'] });
    player.send({ type: 'subscribe', streamerId: 'S1' });
    const connected = await streamer.expect({ type: 'playerConnected', dataChannel: true, sfu: false, playerId: 'Player0' });
    expect(Object.keys(connected)).toEqual(['type', 'dataChannel', 'sfu', 'playerId']);

    streamer.send({ type: 'offer', playerId: 'Player0', sdp: 'v=0 offer', scalabilityMode: 'L1T1' });
    await player.expect({ type: 'offer', playerId: 'Player0', sdp: 'v=0 offer', scalabilityMode: 'L1T1' });
    player.send({ type: 'layerPreference', spatialLayer: 0, temporalLayer: 0 });
    player.send({ type: 'answer', sdp: 'v=0 answer', minBitrateBps: 0, maxBitrateBps: 0 });
    await streamer.expect({ type: 'layerPreference', spatialLayer: 0, temporalLayer: 0, playerId: 'Player0' });
    await streamer.expect({ type: 'answer', sdp: 'v=0 answer', minBitrateBps: 0, maxBitrateBps: 0, playerId: 'Player0' });

    const candidate = { candidate: 'candidate:1 1 udp 1 192.0.2.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'u' };
    player.send({ type: 'iceCandidate', candidate });
    await streamer.expect({ type: 'iceCandidate', candidate, playerId: 'Player0' });
    streamer.send({ type: 'iceCandidate', playerId: 'Player0', candidate });
    await player.expect({ type: 'iceCandidate', playerId: 'Player0', candidate });

    await player.expectQuiet();
    await streamer.expectQuiet();
  });

  it('strips playerId from streamer messages in UE 5.5/5.6 mode', async () => {
    ps = await startPsServer({ playerIdInForwards: 'strip' });
    const streamer = await connectStreamer(ps, 'S1');
    const player = await connectPlayer(ps);
    player.send({ type: 'subscribe', streamerId: 'S1' });
    await streamer.expectType('playerConnected');
    streamer.send({ type: 'offer', playerId: 'Player0', sdp: 'o' });
    await player.expect({ type: 'offer', sdp: 'o' });
  });

  it('lists only identified streamers to players, in registration order', async () => {
    ps = await startPsServer();
    const unidentified = await PsClient.connect(ps.streamerUrl);
    await unidentified.expect({ type: 'identify' });
    await connectStreamer(ps, 'B');
    await connectStreamer(ps, 'A');
    const player = await connectPlayer(ps);
    player.send({ type: 'listStreamers' });
    await player.expect({ type: 'streamerList', ids: ['B', 'A'] });
  });

  it('reads binary frames as UTF-8 JSON', async () => {
    ps = await startPsServer();
    await connectStreamer(ps, 'S1');
    const player = await connectPlayer(ps);
    player.sendRaw(Buffer.from(JSON.stringify({ type: 'listStreamers' })), true);
    await player.expect({ type: 'streamerList', ids: ['S1'] });
  });

  it('ignores and counts bad JSON, unknown types and malformed messages (Wilbur)', async () => {
    ps = await startPsServer();
    const streamer = await connectStreamer(ps, 'S1');
    const player = await connectPlayer(ps);
    player.sendRaw('{not json');
    player.send({ type: 'noSuchType' });
    player.send({ noType: true });
    player.send({ type: 'endpointId', id: 'player-cannot-do-this' });
    player.send({ type: 'subscribe', streamerId: 42 });
    await player.expectQuiet();
    await streamer.expectQuiet();
    expect(ps.app.pixelStreaming!.drops).toMatchObject({ parse: 1, unknown_type: 3, invalid: 1 });
  });

  it('closes with 1008 on bad input in Cirrus mode', async () => {
    ps = await startPsServer({ badMessages: 'close' });
    const player = await connectPlayer(ps);
    player.sendRaw('{not json');
    expect(await player.closed).toEqual({ code: 1008, reason: 'Cannot parse' });
    const other = await connectPlayer(ps);
    other.send({ type: 'noSuchType' });
    expect(await other.closed).toEqual({ code: 1008, reason: 'Unsupported message type' });
  });

  it('answers ping with pong, echoing time unchanged (seconds or milliseconds)', async () => {
    ps = await startPsServer();
    const streamer = await connectStreamer(ps, 'S1');
    streamer.send({ type: 'ping', time: 1767225600 });
    await streamer.expect({ type: 'pong', time: 1767225600 });
    const player = await connectPlayer(ps);
    player.send({ type: 'ping', time: 1767225600123.5 });
    await player.expect({ type: 'pong', time: 1767225600123.5 });
  });

  it('keeps the native endpoint on /ws and gives players every other path', async () => {
    ps = await startPsServer();
    const player = await PsClient.connect(`${ps.playerUrl}some/deep/path?StreamerId=X`);
    await player.expectType('config');
    // /ws stays Heliograph's own protocol, which closes a tokenless connection with 4401.
    const native = await PsClient.connect(`${ps.playerUrl}ws`);
    expect((await native.closed).code).toBe(4401);
  });

  it('opens no ports and answers player upgrades with 404 when disabled', async () => {
    const { startServer } = await import('../helpers/server.js');
    const server = await startServer();
    try {
      expect(server.app.pixelStreaming).toBeUndefined();
      expect(await PsClient.refusal(server.url.replace(/^http/, 'ws'))).toBe(404);
    } finally {
      await server.close();
    }
  });
});
