import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlClient, type StreamEvent } from '../../src/cli/console/control-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { eventually as waitFor } from '../helpers/wait.js';
import { PsClient } from '../pixel-streaming/ps-client.js';

/** The inspector on the Pixel Streaming dialect: a streamer's presence room shows the messages of its sockets. */
const WRITE = 'console-write-key-0123456789-abcdef';
let server: TestServer;
const clients: PsClient[] = [];

beforeAll(async () => {
  server = await startServer({
    controlApi: { keys: [{ id: 'ops', key: WRITE, scope: 'read-write' }] },
    pixelStreaming: { enabled: true, streamerPort: 0, sfuPort: 0 },
  });
});
afterAll(async () => {
  clients.forEach((c) => c.ws.terminate());
  await server.close();
});

async function connect(url: string, name: string): Promise<PsClient> {
  const client = await PsClient.connect(url, name);
  clients.push(client);
  return client;
}

describe('the inspector on Pixel Streaming', () => {
  it('shows the offer, answer and candidates between a streamer and a player, by presence room', async () => {
    const ports = server.app.pixelStreaming!.ports;
    const host = server.url.replace(/^http/, 'ws').replace(/:\d+$/, '');
    const rw = new ControlClient(server.url, WRITE);
    const events: StreamEvent[] = [];
    const abort = new AbortController();
    const done = rw.stream('/v1/inspect?room=ps:S1', (e) => events.push(e), abort.signal);
    await waitFor(() => events.some((e) => e.event === 'started'));

    const streamer = await connect(`${host}:${ports.streamer}/`, 'streamer');
    await streamer.expect({ type: 'identify' });
    await streamer.expectType('config');
    streamer.send({ type: 'endpointId', id: 'S1', protocolVersion: '1.0.0' });
    await streamer.expect({ type: 'endpointIdConfirm', committedId: 'S1' });
    const player = await connect(`${server.url.replace(/^http/, 'ws')}/`, 'player');
    await player.expectType('config');
    player.send({ type: 'subscribe', streamerId: 'S1' });
    const playerId = (await streamer.expectType('playerConnected')).playerId as string;
    streamer.send({ type: 'offer', playerId, sdp: 'v=0\r\na=ice-pwd:secretpassword\r\n' });
    await player.expectType('offer');
    player.send({ type: 'answer', sdp: 'v=0\r\n' });
    await streamer.expectType('answer');
    player.send({ type: 'iceCandidate', candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 } });
    await streamer.expectType('iceCandidate');

    const records = () => events.filter((e) => e.event === 'record').map((e) => e.data as Record<string, unknown>);
    const seen = (type: string, direction: string) => records().some((r) => r.kind === 'message' && r.type === type && r.direction === direction);
    await waitFor(() => seen('offer', 'in') && seen('offer', 'out') && seen('answer', 'in') && seen('answer', 'out') && seen('iceCandidate', 'out'));
    abort.abort();
    await done;
    expect(records().find((r) => r.type === 'offer' && r.direction === 'out')).toMatchObject({ room: 'ps:S1', bytes: expect.any(Number) });
    const text = JSON.stringify(events);
    expect(text).toContain('typ host');
    expect(text).not.toContain('secretpassword');
  });
});
