import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/wait.js';
import { PsClient, connectPlayer, connectStreamer, startPsServer, subscribedPlayer, type PsTestServer } from './ps-client.js';

/** What Epic's server lacks: authentication, presence, events; and Wilbur's REST view and matchmaking. */
let ps: PsTestServer;
afterEach(async () => {
  await ps?.close();
});

const STREAMER_TOKEN = 'streamer-token-0123456789';
const REST_TOKEN = 'rest-token-0123456789abc';

describe('Pixel Streaming authentication', () => {
  it('refuses players without a valid token with HTTP 401 and limits them to their grants', async () => {
    ps = await startPsServer({ auth: { players: true } });
    await connectStreamer(ps, 'Granted');
    await connectStreamer(ps, 'Other');
    expect(await PsClient.refusal(ps.playerUrl)).toBe(401);
    expect(await PsClient.refusal(`${ps.playerUrl}?token=not-a-jwt`)).toBe(401);
    const token = await ps.server.token('alice', [{ room: 'ps:Granted', join: true }]);
    const player = await connectPlayer(ps, `?token=${token}`);
    player.send({ type: 'listStreamers' });
    await player.expect({ type: 'streamerList', ids: ['Granted'] });
    player.send({ type: 'subscribe', streamerId: 'Other' });
    await player.expect({ type: 'subscribeFailed', message: 'Not authorized to subscribe to streamer Other.' });
    player.send({ type: 'subscribe', streamerId: 'Granted' });
    await until(() => ps.app.rooms.get('ps:Granted')?.size === 2);
    const peer = [...ps.app.rooms.get('ps:Granted')!.peers.values()][1]!;
    expect(peer.metadata).toMatchObject({ pixelStreaming: { role: 'Player', playerId: 'Player0', user: 'alice' } });
  });

  it('lets streamers in with the shared token or a JWT whose grants cover the id', async () => {
    ps = await startPsServer({ auth: { streamers: true, streamerToken: STREAMER_TOKEN } });
    expect(await PsClient.refusal(ps.streamerUrl)).toBe(401);
    expect(await PsClient.refusal(`${ps.streamerUrl}?token=wrong-token-0123456789`)).toBe(401);
    expect(await PsClient.refusal(ps.sfuUrl)).toBe(401);
    const shared = await PsClient.connect(`${ps.streamerUrl}?token=${STREAMER_TOKEN}`);
    shared.send({ type: 'endpointId', id: 'Anything' });
    await shared.expectType('identify');
    await shared.expectType('config');
    await shared.expect({ type: 'endpointIdConfirm', committedId: 'Anything' });

    const jwt = await ps.server.token('unreal-host-1', [{ room: 'ps:Cam*', create: true }]);
    const cam = await PsClient.connect(`${ps.streamerUrl}?token=${jwt}`);
    cam.send({ type: 'endpointId', id: 'Cam1' });
    await cam.expectType('identify');
    await cam.expectType('config');
    await cam.expect({ type: 'endpointIdConfirm', committedId: 'Cam1' });
    const squatter = await PsClient.connect(`${ps.streamerUrl}?token=${jwt}`);
    squatter.send({ type: 'endpointId', id: 'Anything2' });
    expect(await squatter.closed).toEqual({ code: 1008, reason: 'streamer id not authorized' });
  });
});

describe('Pixel Streaming presence and events', () => {
  it('maps a streamer and its players onto room ps:<id> and emits streamer events', async () => {
    ps = await startPsServer();
    const seen: string[] = [];
    const events = ps.app.pixelStreaming!.events;
    events.on('streamer.connected', (e) => seen.push(`connected ${e.streamerId} ${e.type}`));
    events.on('streamer.renamed', (e) => seen.push(`renamed ${e.previousId}→${e.streamerId}`));
    events.on('streamer.disconnected', (e) => seen.push(`disconnected ${e.streamerId} ${e.reason}`));
    events.on('streamer.connected', () => {
      throw new Error('a broken listener must not break signalling');
    });
    const streamer = await connectStreamer(ps, 'S1');
    const { player } = await subscribedPlayer(ps, streamer, 'S1');
    const room = ps.app.rooms.get('ps:S1')!;
    expect([...room.peers.values()].map((p) => p.userId)).toEqual(['ps-streamer:S1', 'ps-player:Player0']);
    streamer.send({ type: 'endpointId', id: 'S2' });
    await player.expect({ type: 'streamerIdChanged', newID: 'S2' });
    expect(ps.app.rooms.get('ps:S2')!.size).toBe(2);
    expect(ps.app.rooms.get('ps:S1')?.size ?? 0).toBe(0);
    streamer.close();
    await player.closed;
    await until(() => seen.length === 3);
    expect(seen).toEqual(['connected S1 Streamer', 'renamed S1→S2', 'disconnected S2 closed']);
    expect(ps.app.rooms.get('ps:S2')?.size ?? 0).toBe(0);
  });

  it('sends configured ICE servers with TURN credentials minted per peer', async () => {
    ps = await startPsServer(
      {},
      { iceServers: [{ urls: 'stun:stun.example.com:3478' }], turn: { urls: ['turn:turn.example.com:3478'], secret: 'turn-secret-0123456789' } },
    );
    const player = await PsClient.connect(ps.playerUrl);
    const config = await player.expectType('config');
    const servers = (config.peerConnectionOptions as { iceServers: Array<Record<string, unknown>> }).iceServers;
    expect(servers[0]).toEqual({ urls: 'stun:stun.example.com:3478' });
    expect(servers[1]).toMatchObject({ urls: ['turn:turn.example.com:3478'], username: expect.stringMatching(/^\d+:ps-player:Player0$/) });
    expect(servers[1]!.credential).toEqual(expect.any(String));
  });
});

describe('Pixel Streaming REST view and matchmaking', () => {
  async function get(path: string, token?: string) {
    const res = await fetch(`${ps.server.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    return { status: res.status, body: (await res.json()) as unknown };
  }

  it('serves Wilbur’s status, streamers and players, and 404 with a message', async () => {
    ps = await startPsServer({ auth: { streamers: true, streamerToken: STREAMER_TOKEN } });
    const streamer = await PsClient.connect(`${ps.streamerUrl}?token=${STREAMER_TOKEN}`);
    streamer.send({ type: 'endpointId', id: 'S1' });
    await streamer.expectType('identify');
    await streamer.expectType('config');
    await streamer.expectType('endpointIdConfirm');
    await subscribedPlayer(ps, streamer, 'S1');
    const status = await get('/api/status');
    expect(status.body).toMatchObject({ streamer_count: 1, player_count: 1, version: expect.any(String), uptime: expect.any(Number) });
    const player = { playerId: 'Player0', type: 'Player', subscribedTo: 'S1', remoteAddress: '127.0.0.1' };
    const s1 = { streamerId: 'S1', type: 'Streamer', streaming: true, remoteAddress: '127.0.0.1', subscribers: [player] };
    expect((await get('/api/streamers')).body).toEqual([s1]);
    expect((await get('/api/streamers/S1')).body).toEqual(s1);
    expect((await get('/api/players')).body).toEqual([player]);
    expect((await get('/api/players/Player0')).body).toEqual(player);
    const missing = await get('/api/streamers/Nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ message: 'No streamer with id Nope' });
    for (const path of ['/api/status', '/api/streamers', '/api/players']) {
      expect(JSON.stringify((await get(path)).body)).not.toContain(STREAMER_TOKEN);
    }
    expect((await get('/api/config')).status).toBe(404); // Wilbur's leaks peer options and TURN secrets
  });

  it('needs the REST token when one is configured', async () => {
    ps = await startPsServer({ restToken: REST_TOKEN });
    expect((await get('/api/status')).status).toBe(401);
    expect((await get('/api/status', 'wrong')).status).toBe(401);
    expect((await get('/api/status', REST_TOKEN)).status).toBe(200);
  });

  it('matches players to the least loaded streamer with a free slot', async () => {
    ps = await startPsServer({ maxPlayersPerStreamer: 1, publicUrl: 'wss://ps.example.com' });
    expect(await get('/api/match')).toMatchObject({ status: 503, body: { error: { code: 'UNAVAILABLE' } } });
    expect((await get('/signallingserver')).body).toEqual({ signallingServer: '', error: 'No signalling servers available' });
    const busy = await connectStreamer(ps, 'Busy');
    await subscribedPlayer(ps, busy, 'Busy');
    await connectStreamer(ps, 'Free');
    expect((await get('/api/match')).body).toEqual({ streamerId: 'Free', signallingUrl: 'wss://ps.example.com', players: 0, maxPlayers: 1 });
    expect((await get('/signallingserver')).body).toEqual({ signallingServer: 'ps.example.com' });
  });
});
