import { afterEach, describe, expect, it } from 'vitest';
import { connectStreamer, PsClient, startPsServer, subscribedPlayer, type PsTestServer } from '../pixel-streaming/ps-client.js';

/**
 * Pixel Streaming messages nested too deep: dropped (or closed with 1008 under `badMessages:
 * close`) at the edge, never relayed, never logged as errors, and the node goes on.
 */
const DEEP = `${'['.repeat(7000)}${']'.repeat(7000)}`;

let ps: PsTestServer;
afterEach(async () => {
  await ps?.close();
});

async function internalErrors(): Promise<string> {
  const text = await ps.app.metrics.getSingleMetricAsString('heliograph_internal_errors_total');
  return text
    .split('\n')
    .filter((line) => line.startsWith('heliograph_internal_errors_total{'))
    .join('\n');
}

describe('Pixel Streaming messages nested too deep', () => {
  it('are dropped as invalid both ways; the call goes on and nothing is logged as an error', async () => {
    ps = await startPsServer();
    const streamer = await connectStreamer(ps, 'S');
    const { player, playerId } = await subscribedPlayer(ps, streamer, 'S');
    for (let i = 0; i < 50; i++) {
      player.sendRaw(`{"type":"iceCandidate","candidate":{"candidate":${DEEP}}}`);
      streamer.sendRaw(`{"type":"offer","playerId":"${playerId}","sdp":"x","extra":${DEEP}}`);
    }
    player.send({ type: 'iceCandidate', candidate: { candidate: 'after' } });
    await streamer.expect({ type: 'iceCandidate', playerId, candidate: { candidate: 'after' } });
    streamer.send({ type: 'offer', playerId, sdp: 'after' });
    await player.expect({ type: 'offer', playerId, sdp: 'after' });
    expect(ps.app.pixelStreaming?.drops.invalid).toBe(100);
    expect(await internalErrors()).toBe('');
  });

  it('close the socket with 1008 under badMessages: close, and only that socket', async () => {
    ps = await startPsServer({ badMessages: 'close' });
    const streamer = await connectStreamer(ps, 'S');
    const { player: bad, playerId: badId } = await subscribedPlayer(ps, streamer, 'S');
    const { player: good, playerId } = await subscribedPlayer(ps, streamer, 'S');
    bad.sendRaw(`{"type":"listStreamers","x":${DEEP}}`);
    expect((await bad.closed).code).toBe(1008);
    await streamer.expect({ type: 'playerDisconnected', playerId: badId });
    good.send({ type: 'iceCandidate', candidate: { candidate: 'fine' } });
    await streamer.expect({ type: 'iceCandidate', playerId, candidate: { candidate: 'fine' } });
    const late = await PsClient.connect(ps.playerUrl);
    await late.expectType('config');
    late.ws.close();
  });
});
