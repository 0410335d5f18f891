import { afterEach, describe, expect, it } from 'vitest';
import { connectStreamer, startPsServer, subscribedPlayer, type PsTestServer } from './ps-client.js';

/**
 * Epic's frontend and common library build messages with protobuf-ts `create()`, which fills an
 * unset `playerId` with `""`: its `layerPreference` goes out as
 * `{"type":"layerPreference","spatialLayer":0,"temporalLayer":0,"playerId":""}`. The server
 * overwrites a player's `playerId` anyway, so such a message must reach the streamer with the
 * player's id, in both bad-message modes; from a streamer, an empty target reaches nobody.
 */
let ps: PsTestServer;
afterEach(async () => {
  await ps?.close();
});

describe.each(['ignore', 'close'] as const)('playerId "" from Epic’s libraries (badMessages: %s)', (badMessages) => {
  it('a player’s layerPreference, answer and candidate with playerId "" reach the streamer with the player’s id', async () => {
    ps = await startPsServer({ badMessages });
    const streamer = await connectStreamer(ps, 'S');
    const { player, playerId } = await subscribedPlayer(ps, streamer, 'S');
    player.sendRaw('{"type":"layerPreference","spatialLayer":0,"temporalLayer":0,"playerId":""}');
    await streamer.expect({ type: 'layerPreference', spatialLayer: 0, temporalLayer: 0, playerId });
    player.send({ type: 'answer', sdp: 'v=0 answer', playerId: '' });
    await streamer.expect({ type: 'answer', sdp: 'v=0 answer', playerId });
    player.send({ type: 'iceCandidate', candidate: { candidate: 'c' }, playerId: '' });
    await streamer.expect({ type: 'iceCandidate', candidate: { candidate: 'c' }, playerId });
    expect(ps.app.pixelStreaming?.drops.invalid).toBe(0);
  });

  it('a streamer’s message with playerId "" reaches no player and closes nothing', async () => {
    ps = await startPsServer({ badMessages });
    const streamer = await connectStreamer(ps, 'S');
    const { player, playerId } = await subscribedPlayer(ps, streamer, 'S');
    streamer.send({ type: 'offer', sdp: 'to nobody', playerId: '' });
    streamer.send({ type: 'offer', sdp: 'to the player', playerId });
    await player.expect({ type: 'offer', sdp: 'to the player', playerId });
    expect(ps.app.pixelStreaming?.drops.unroutable).toBe(1);
  });
});
