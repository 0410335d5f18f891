import { afterAll, beforeAll, describe, it } from 'vitest';
import { haveTool } from '../helpers/require-tool.js';
import { selfSignedCertificate, type SelfSigned } from '../helpers/tls.js';
import { PsClient, startPsServer, type PsTestServer } from './ps-client.js';

const hasOpenssl = haveTool('openssl', 'openssl');

describe.runIf(hasOpenssl)('Pixel Streaming over TLS: streamers, SFUs and players all on WSS', () => {
  let tls: SelfSigned;
  let ps: PsTestServer;
  let ca: Buffer;

  beforeAll(async () => {
    tls = selfSignedCertificate();
    ca = tls.ca;
    const { cert, key } = tls;
    ps = await startPsServer({}, { tls: { cert, key } });
  });

  afterAll(async () => {
    await ps?.close();
    tls?.remove();
  });

  it('runs the handshakes over wss:// on all three ports', async () => {
    const streamer = await PsClient.connect(ps.streamerUrl, 'streamer', { ca });
    await streamer.expect({ type: 'identify' });
    await streamer.expectType('config');
    streamer.send({ type: 'endpointId', id: 'Secure' });
    await streamer.expect({ type: 'endpointIdConfirm', committedId: 'Secure' });
    const sfu = await PsClient.connect(ps.sfuUrl, 'sfu', { ca });
    await sfu.expect({ type: 'identify' });
    const player = await PsClient.connect(ps.playerUrl, 'player', { ca });
    await player.expectType('config');
    player.send({ type: 'subscribe', streamerId: 'Secure' });
    await streamer.expect({ type: 'playerConnected', dataChannel: true, sfu: false, playerId: 'Player1' });
  });
});
