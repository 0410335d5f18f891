import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { haveTool } from '../helpers/require-tool.js';
import { until } from '../helpers/wait.js';
import type { PsClient } from './ps-client.js';
import { PsClusterHarness, type PsNode, type PsSettings } from './ps-cluster.js';

// haveTool throws under CI=true when redis-server is missing, so this never skips in CI.
const hasRedis = haveTool('redis-server', 'redis-server');

/**
 * The dialect across two nodes in this process on a real redis-server, with raw WebSocket peers:
 * streamers on one node, players and SFUs on the other, as Epic's peers would see it.
 */
/** Every case runs twice: requests between nodes through Redis, and over direct links (`cluster.linkSecret`). */
const PATHS = [
  ['through Redis', {}],
  ['with direct links', { linkSecret: 'ps-cluster-link-secret-0123456789ab', linkHost: '127.0.0.1' }],
] as const;

describe.skipIf(!hasRedis).each(PATHS)('Pixel Streaming across two nodes over Redis, requests %s', (_path, links) => {
  let redis: TestRedis;
  const h = new PsClusterHarness(() => redis, links);
  const twoNodes = (ps?: PsSettings) => h.twoNodes(ps);
  const connect = (url: string, name: string) => h.connect(url, name);
  const streamerOn = (node: PsNode, id: string, committed = id) => h.streamerOn(node, id, committed);
  const playerOn = (node: PsNode, name?: string) => h.playerOn(node, name);
  const subscribed = (node: PsNode, streamer: PsClient, streamerId: string) => h.subscribed(node, streamer, streamerId);

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(() => h.cleanup());

  it('completes the handshake and relays both ways, in order, between a streamer on A and a player on B', async () => {
    const [a, b] = await twoNodes();
    const streamer = await streamerOn(a, 'S1');
    const player = await playerOn(b);
    player.send({ type: 'listStreamers' });
    await player.expect({ type: 'streamerList', ids: ['S1'] });
    player.send({ type: 'subscribe', streamerId: 'S1' });
    const connected = await streamer.expectType('playerConnected');
    const playerId = connected.playerId as string;
    expect(connected).toEqual({ type: 'playerConnected', dataChannel: true, sfu: false, playerId });
    expect(playerId).toMatch(/^Player\d+$/);
    expect(b.server.app.pixelStreaming!.signalling.players.has(playerId)).toBe(true);

    streamer.send({ type: 'offer', playerId, sdp: 'v=0 offer' });
    await player.expect({ type: 'offer', playerId, sdp: 'v=0 offer' });
    player.send({ type: 'layerPreference', spatialLayer: 0, temporalLayer: 0 });
    player.send({ type: 'answer', sdp: 'v=0 answer', minBitrateBps: 0, maxBitrateBps: 0, playerId: 'Spoofed' });
    await streamer.expect({ type: 'layerPreference', spatialLayer: 0, temporalLayer: 0, playerId });
    await streamer.expect({ type: 'answer', sdp: 'v=0 answer', minBitrateBps: 0, maxBitrateBps: 0, playerId });

    const candidate = (n: number) => ({ candidate: `candidate:${n} 1 udp 1 127.0.0.1 ${9000 + n} typ host`, sdpMid: '0', sdpMLineIndex: 0 });
    for (let n = 0; n < 30; n++) {
      streamer.send({ type: 'iceCandidate', playerId, candidate: candidate(n) });
      player.send({ type: 'iceCandidate', candidate: candidate(100 + n) });
    }
    for (let n = 0; n < 30; n++) {
      await player.expect({ type: 'iceCandidate', playerId, candidate: candidate(n) });
      await streamer.expect({ type: 'iceCandidate', playerId, candidate: candidate(100 + n) });
    }
    player.send({ type: 'dataChannelRequest' });
    player.send({ type: 'peerDataChannelsReady' });
    await streamer.expect({ type: 'dataChannelRequest', playerId });
    await streamer.expect({ type: 'peerDataChannelsReady', playerId });

    // The streamer's node sees the player as a subscriber of its streamer, in presence too.
    const info = a.server.app.pixelStreaming!.signalling.streamers.get('S1')!;
    expect([...info.subscribers.keys()]).toEqual([playerId]);
    expect([...a.server.app.rooms.get('ps:S1')!.peers.values()].map((p) => p.userId).sort()).toEqual([`ps-player:${playerId}`, 'ps-streamer:S1']);

    player.send({ type: 'unsubscribe' });
    await streamer.expect({ type: 'playerDisconnected', playerId });
    await player.expectQuiet();
    expect(info.subscribers.size).toBe(0);

    player.send({ type: 'subscribe', streamerId: 'S1' });
    await streamer.expect({ type: 'playerConnected', dataChannel: true, sfu: false, playerId });
    player.close();
    await streamer.expect({ type: 'playerDisconnected', playerId });
    await streamer.expectQuiet();
  });

  it('closes remote players when their streamer leaves (no status code, as Wilbur), and on a kick with 1011', async () => {
    const [a, b] = await twoNodes();
    const streamer = await streamerOn(a, 'S1');
    const { player: kicked, playerId: kickedId } = await subscribed(b, streamer, 'S1');
    const { player: left } = await subscribed(b, streamer, 'S1');

    streamer.send({ type: 'disconnectPlayer', playerId: kickedId, reason: 'bye now' });
    await streamer.expect({ type: 'playerDisconnected', playerId: kickedId });
    expect(await kicked.closed).toEqual({ code: 1011, reason: 'bye now' });

    // Removed from the presence room on the streamer's node (a control-API kick): closed, as on one node.
    const { player: removed, playerId: removedId } = await subscribed(b, streamer, 'S1');
    const rooms = a.server.app.rooms;
    const peer = [...rooms.get('ps:S1')!.peers.values()].find((p) => p.userId === `ps-player:${removedId}`)!;
    rooms.detach(peer, 'kicked');
    await streamer.expect({ type: 'playerDisconnected', playerId: removedId });
    expect((await removed.closed).code).toBe(1005);

    streamer.close();
    expect((await left.closed).code).toBe(1005);
    await until(() => b.server.app.pixelStreaming!.signalling.players.size === 0, 5_000, 'node B to forget its players');
  });

  it('answers subscribeFailed for unknown and full remote streamers, and lists streamers of both nodes in claim order', async () => {
    const [a, b] = await twoNodes({ maxPlayersPerStreamer: 1 });
    await streamerOn(a, 'First');
    const second = await streamerOn(b, 'Second');
    const third = await streamerOn(a, 'Third');
    const player = await playerOn(b);
    player.send({ type: 'listStreamers' });
    await player.expect({ type: 'streamerList', ids: ['First', 'Second', 'Third'] });
    player.send({ type: 'subscribe', streamerId: 'Nope' });
    await player.expect({ type: 'subscribeFailed', message: 'Streamer Nope does not exist.' });

    const { playerId } = await subscribed(a, third, 'Third');
    player.send({ type: 'subscribe', streamerId: 'Third' });
    await player.expect({ type: 'subscribeFailed', message: 'Streamer Third is full. Max players = 1.' });
    // A subscriber moving across nodes: the old streamer hears playerDisconnected first.
    player.send({ type: 'subscribe', streamerId: 'Second' });
    const moved = await second.expectType('playerConnected');
    player.send({ type: 'subscribe', streamerId: 'Third' });
    await second.expect({ type: 'playerDisconnected', playerId: moved.playerId });
    await player.expect({ type: 'subscribeFailed', message: 'Streamer Third is full. Max players = 1.' });
    await third.expectQuiet();
    expect(playerId).not.toBe(moved.playerId);
  });

  it('tells remote players of a rename before the streamer’s confirmation, and auto-subscribes across nodes (legacy offer)', async () => {
    const [a, b] = await twoNodes();
    const streamer = await streamerOn(a, 'Old');
    const { player, playerId } = await subscribed(b, streamer, 'Old');
    const candidate = (n: number) => ({ candidate: `candidate:${n} 1 udp 1 127.0.0.1 ${9000 + n} typ host`, sdpMid: '0', sdpMLineIndex: 0 });
    streamer.send({ type: 'endpointId', id: 'New' });
    // The player talks all through the rename, while its presence peer follows the streamer to
    // the new room: what reached the old address too late is sent again, nothing twice or out of order.
    for (let n = 0; n < 20; n++) {
      player.send({ type: 'iceCandidate', candidate: candidate(n) });
      streamer.send({ type: 'iceCandidate', playerId, candidate: candidate(50 + n) });
    }
    // The streamer's messages all arrive too, in order, with the rename's notice among them.
    const toPlayer = [];
    while (toPlayer.length < 21) {
      toPlayer.push(await player.next());
    }
    expect(toPlayer.filter((m) => m.type === 'streamerIdChanged')).toEqual([{ type: 'streamerIdChanged', newID: 'New' }]);
    expect(toPlayer.filter((m) => m.type !== 'streamerIdChanged')).toEqual(
      Array.from({ length: 20 }, (_, n) => ({ type: 'iceCandidate', playerId, candidate: candidate(50 + n) })),
    );
    for (let n = 20; n < 30; n++) {
      player.send({ type: 'iceCandidate', candidate: candidate(n) });
    }
    const heard = [];
    while (heard.length < 31) {
      heard.push(await streamer.next());
    }
    expect(heard.filter((m) => m.type === 'endpointIdConfirm')).toEqual([{ type: 'endpointIdConfirm', committedId: 'New' }]);
    expect(heard.filter((m) => m.type !== 'endpointIdConfirm')).toEqual(
      Array.from({ length: 30 }, (_, n) => ({ type: 'iceCandidate', playerId, candidate: candidate(n) })),
    );
    expect(b.server.app.pixelStreaming!.signalling.players.get(playerId)?.subscribedTo?.id).toBe('New');
    streamer.send({ type: 'offer', playerId, sdp: 'after the rename' });
    await player.expect({ type: 'offer', playerId, sdp: 'after the rename' });
    // Presence followed on both nodes: nobody is left in the old room, the new one holds both.
    for (const node of [a, b]) {
      await until(() => (node.server.app.rooms.get('ps:Old')?.peers.size ?? 0) === 0, 5_000, 'the old presence room to empty');
      expect([...node.server.app.rooms.get('ps:New')!.peers.values()].map((p) => p.userId).sort()).toEqual([`ps-player:${playerId}`, 'ps-streamer:New']);
    }

    // BrowserSendOffer: an offer without subscribing goes to the first streamer of the cluster.
    const legacy = await playerOn(b, 'legacy');
    legacy.send({ type: 'offer', sdp: 'browser offer' });
    const connected = await streamer.expectType('playerConnected');
    await streamer.expect({ type: 'offer', sdp: 'browser offer', playerId: connected.playerId });
  });

  it('de-duplicates streamer ids across nodes under rename', async () => {
    const [a, b] = await twoNodes();
    const first = await streamerOn(a, 'Cam');
    await streamerOn(b, 'Cam', 'Cam1');
    await streamerOn(b, 'Cam', 'Cam2');
    // Re-sending its own id keeps it; a rename frees the old id for the next one.
    first.send({ type: 'endpointId', id: 'Cam' });
    await first.expect({ type: 'endpointIdConfirm', committedId: 'Cam' });
    first.send({ type: 'endpointId', id: 'Lens' });
    await first.expect({ type: 'endpointIdConfirm', committedId: 'Lens' });
    await streamerOn(b, 'Cam', 'Cam');
    const ids = (await a.server.app.cluster!.directory.claims('streamers')).map((r) => r.name).sort();
    expect(ids).toEqual(['Cam', 'Cam1', 'Cam2', 'Lens']);
  });

  it('rejects a streamer id held on another node under reject', async () => {
    const [a, b] = await twoNodes({ duplicateStreamerIds: 'reject' });
    await streamerOn(a, 'Only');
    const late = await connect(b.streamerUrl, 'late');
    await late.expect({ type: 'identify' });
    await late.expectType('config');
    late.send({ type: 'endpointId', id: 'Only' });
    expect(await late.closed).toEqual({ code: 1008, reason: 'streamer id in use' });
  });

  it('replaces a streamer on another node under replace: the old one is closed 4409, its remote players go', async () => {
    const [a, b] = await twoNodes({ duplicateStreamerIds: 'replace' });
    const old = await streamerOn(a, 'Unreal');
    const { player } = await subscribed(b, old, 'Unreal');
    const fresh = await streamerOn(b, 'Unreal');
    expect(await old.closed).toEqual({ code: 4409, reason: 'replaced by a new connection' });
    expect((await player.closed).code).toBe(1005);
    const again = await playerOn(a);
    again.send({ type: 'subscribe', streamerId: 'Unreal' });
    await fresh.expectType('playerConnected');
    const records = await a.server.app.cluster!.directory.claims('streamers');
    expect(records.map((r) => [r.name, r.nodeId])).toEqual([['Unreal', b.server.app.cluster!.nodeId]]);
  });

  it('gives players and SFUs ids unique across the cluster', async () => {
    const [a, b] = await twoNodes();
    for (let i = 0; i < 6; i++) {
      await playerOn(i % 2 ? a : b, `p${i}`);
    }
    for (const node of [a, b]) {
      const sfu = await connect(node.sfuUrl, 'sfu');
      await sfu.expect({ type: 'identify' });
      await sfu.expectType('config');
    }
    const ids = [a, b].flatMap((n) => [...n.server.app.pixelStreaming!.signalling.players.keys()]);
    expect(ids).toHaveLength(8);
    expect(new Set(ids).size).toBe(8);
    for (const id of ids) {
      expect(id).toMatch(/^Player\d+$/);
    }
  });

  it('relays through an SFU on B subscribed to a streamer on A; the SFU hears streamerDisconnected when it leaves', async () => {
    const [a, b] = await twoNodes();
    const streamer = await streamerOn(a, 'Game');
    const sfu = await connect(b.sfuUrl, 'sfu');
    await sfu.expect({ type: 'identify' });
    await sfu.expectType('config');
    sfu.send({ type: 'endpointId', id: 'SFU' });
    await sfu.expect({ type: 'endpointIdConfirm', committedId: 'SFU' });
    sfu.send({ type: 'listStreamers' });
    const listed = await sfu.expectType('streamerList');
    expect(listed.ids).toEqual(['Game', 'SFU']);
    sfu.send({ type: 'subscribe', streamerId: 'Game' });
    const connected = await streamer.expectType('playerConnected');
    expect(connected.sfu).toBe(true);
    const sfuPlayerId = connected.playerId as string;
    streamer.send({ type: 'layerPreference', spatialLayer: 1, temporalLayer: 0, playerId: sfuPlayerId });
    await sfu.expect({ type: 'layerPreference', spatialLayer: 1, temporalLayer: 0, playerId: sfuPlayerId });
    sfu.send({ type: 'streamerDataChannels', playerId: 'Player77', sendStreamId: 1, recvStreamId: 2 });
    await streamer.expect({ type: 'streamerDataChannels', playerId: 'Player77', sendStreamId: 1, recvStreamId: 2, sfuId: sfuPlayerId });

    sfu.send({ type: 'startStreaming' });
    const viewer = await playerOn(b, 'viewer');
    viewer.send({ type: 'subscribe', streamerId: 'SFU' });
    const viewerId = (await sfu.expectType('playerConnected')).playerId;
    streamer.close();
    await sfu.expect({ type: 'streamerDisconnected' });
    await sfu.expect({ type: 'playerDisconnected', playerId: viewerId });
    expect((await viewer.closed).code).toBe(1005);
  });

  it('tells remote players when the streamer’s node is lost, and frees that node’s streamer ids', async () => {
    const [a, b] = await twoNodes();
    const streamer = await streamerOn(a, 'Doomed');
    const { player } = await subscribed(b, streamer, 'Doomed');
    const watcher = await playerOn(b, 'watcher');
    // Node A drops out of the cluster (its bus leaves); its sockets stay open.
    await a.server.app.cluster!.bus.close();
    expect((await player.closed).code).toBe(1005);
    await until(() => b.server.app.pixelStreaming!.signalling.players.size === 1, 5_000, 'node B to drop the player');
    // Every node frees a lost node's streamer ids: the list empties.
    const deadline = Date.now() + 5_000;
    for (let listed: unknown = ['Doomed']; JSON.stringify(listed) !== '[]';) {
      expect(Date.now()).toBeLessThan(deadline);
      watcher.send({ type: 'listStreamers' });
      listed = (await watcher.expectType('streamerList')).ids;
    }
    await streamerOn(b, 'Doomed');
  });

  it('with Redis unreachable: a cross-node subscribe fails like an unknown streamer, at once; local streaming goes on', async () => {
    const [a, b] = await twoNodes();
    const remote = await streamerOn(a, 'Remote');
    const local = await streamerOn(b, 'Local');
    const player = await playerOn(b);
    await redis.kill();
    try {
      await until(() => !b.server.app.cluster!.bus.connected, 5_000, 'node B to notice');
      player.send({ type: 'subscribe', streamerId: 'Remote' });
      await player.expect({ type: 'subscribeFailed', message: 'Streamer Remote does not exist.' });
      player.send({ type: 'subscribe', streamerId: 'Local' });
      const connected = await local.expectType('playerConnected');
      local.send({ type: 'offer', playerId: connected.playerId, sdp: 'local' });
      await player.expect({ type: 'offer', playerId: connected.playerId, sdp: 'local' });
      // New players still get an id unique in the cluster (scoped by their node) and can stream locally.
      const late = await playerOn(b, 'late');
      late.send({ type: 'subscribe', streamerId: 'Local' });
      const lateId = (await local.expectType('playerConnected')).playerId as string;
      expect(lateId).toBe(`Player-${b.server.app.cluster!.nodeId}-0`);
      await remote.expectQuiet();
    } finally {
      await redis.restart();
    }
  });

  it('after Redis restarts empty: streamer ids are claimed again, cross-node subscriptions end on both sides and can be made again', async () => {
    const [a, b] = await twoNodes();
    const streamer = await streamerOn(a, 'Kept');
    await streamerOn(b, 'Bee');
    const { player, playerId } = await subscribed(b, streamer, 'Kept');
    await redis.restart();
    // Each node learns the cluster dropped it; neither can tell whether the other still has its side.
    expect((await player.closed).code).toBe(1005);
    await streamer.expect({ type: 'playerDisconnected', playerId });
    const deadline = Date.now() + 10_000;
    // Both ids back means both nodes have handled their eviction (teardown first, then the claims).
    const restored = async () =>
      (await a.server.app.cluster!.directory.claims('streamers').catch(() => []))
        .map((r) => r.name)
        .sort()
        .join();
    while ((await restored()) !== 'Bee,Kept') {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => a.server.app.cluster!.bus.connected && b.server.app.cluster!.bus.connected, 10_000, 'both nodes to reconnect');
    const again = await playerOn(b, 'again');
    again.send({ type: 'subscribe', streamerId: 'Kept' });
    const connected = await streamer.expectType('playerConnected');
    streamer.send({ type: 'offer', playerId: connected.playerId, sdp: 'after' });
    await again.expect({ type: 'offer', playerId: connected.playerId, sdp: 'after' });
    await streamerOn(b, 'Kept', 'Kept1');
  });
});
