import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { haveTool } from '../helpers/require-tool.js';
import { PsClient, startPsServer, type PsTestServer } from './ps-client.js';

const hasOpenssl = haveTool('openssl', 'openssl');

describe.runIf(hasOpenssl)('Pixel Streaming over TLS: streamers, SFUs and players all on WSS', () => {
  let dir: string;
  let ps: PsTestServer;
  let ca: Buffer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'heliograph-ps-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', key, '-out', cert,
    ], { stdio: 'ignore' });
    ca = readFileSync(cert);
    ps = await startPsServer({}, { tls: { cert, key } });
  });

  afterAll(async () => {
    await ps?.close();
    rmSync(dir, { recursive: true, force: true });
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
