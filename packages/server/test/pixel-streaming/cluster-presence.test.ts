import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_SECRET, TestBackend } from '../helpers/business-backend.js';
import { TestClient } from '../helpers/client.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { haveTool } from '../helpers/require-tool.js';
import { TEST_SECRET } from '../helpers/server.js';
import { eventually, until } from '../helpers/wait.js';
import { PsClusterHarness, type NodeSettings, type PsNode } from './ps-cluster.js';

// haveTool throws under CI=true when redis-server is missing, so this never skips in CI.
const hasRedis = haveTool('redis-server', 'redis-server');

const API_KEY = 'rw-key-0123456789-0123456789-0123456789';
const controlApi = { keys: [{ id: 'ops', key: API_KEY, scope: 'read-write' as const }] };

/** A control API call on `node` with the read-write key. */
async function call(node: PsNode, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${node.server.url}/v1${path}`, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}

/** The room `ps:<id>` as another node's control API lists it, if it does. */
async function listed(node: PsNode, roomId: string): Promise<{ id: string; peers: number } | undefined> {
  const res = await call(node, 'GET', '/rooms?limit=100');
  return (res.body?.rooms as Array<{ id: string; peers: number }>).find((r) => r.id === roomId);
}

const PATHS = [
  ['through Redis', {}],
  ['with direct links', { linkSecret: 'ps-presence-link-secret-0123456789ab', linkHost: '127.0.0.1' }],
] as const;

/**
 * Pixel Streaming presence rooms (`ps:<id>`) as cluster rooms: each member joins from the node
 * holding its socket, and the other nodes' control API lists, shows, kicks and closes them
 * through the cluster directory.
 */
describe.skipIf(!hasRedis).each(PATHS)('Pixel Streaming presence rooms across two nodes, requests %s', (_path, links) => {
  let redis: TestRedis;
  const h = new PsClusterHarness(() => redis, links);
  const twoNodes = (more: NodeSettings = {}) => h.twoNodes({}, { controlApi, ...more });

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(() => h.cleanup());

  it('lists and shows the room on the other node, kicks a player from there, and closes the room from there (webhooks once)', async () => {
    const backend = await new TestBackend({ jwtSecret: TEST_SECRET }).start();
    try {
      const [a, b] = await twoNodes({ webhooks: { url: backend.webhookUrl, secret: HOOK_SECRET } });
      const streamer = await h.streamerOn(a, 'S1');
      const { player: local, playerId: localId } = await h.subscribed(a, streamer, 'S1');
      const { player: remote, playerId: remoteId } = await h.subscribed(b, streamer, 'S1');

      await eventually(async () => (await listed(b, 'ps:S1'))?.peers === 3, 10_000, 'node B to list ps:S1 with three peers');
      expect((await call(b, 'GET', '/rooms/ps:S1')).body).toMatchObject({ id: 'ps:S1', peers: 3, metadata: { pixelStreaming: { streamerId: 'S1' } } });
      const peers = (await call(b, 'GET', '/rooms/ps:S1/peers')).body?.peers as Array<{ id: string; userId: string }>;
      expect(peers.map((p) => p.userId).sort()).toEqual([`ps-player:${localId}`, `ps-player:${remoteId}`, 'ps-streamer:S1'].sort());

      // The kick goes to the player's own node (A), which closes its socket.
      const kicked = peers.find((p) => p.userId === `ps-player:${localId}`)!;
      expect((await call(b, 'POST', `/rooms/ps:S1/peers/${kicked.id}/kick`, { reason: 'spam' })).status).toBe(204);
      await streamer.expect({ type: 'playerDisconnected', playerId: localId });
      expect((await local.closed).code).toBe(1005);
      await eventually(async () => (await listed(b, 'ps:S1'))?.peers === 2, 10_000, 'node B to count two peers');

      // Closing the room from B closes the streamer and the remaining player, as a local close does.
      expect((await call(b, 'DELETE', '/rooms/ps:S1?reason=done')).status).toBe(204);
      expect((await streamer.closed).code).toBe(1005);
      expect((await remote.closed).code).toBe(1005);
      await eventually(async () => (await call(a, 'GET', '/rooms/ps:S1')).status === 404, 10_000, 'the room to be gone on A');
      expect(await listed(b, 'ps:S1')).toBeUndefined();

      const inRoom = (type: string) => backend.events.filter((e) => e.room === 'ps:S1' && e.type === type);
      await until(() => inRoom('room.finished').length === 1 && inRoom('peer.left').length === 3, 10_000, 'the room webhooks');
      expect(inRoom('room.started')).toHaveLength(1);
      expect(inRoom('peer.joined')).toHaveLength(3);
      const seqs = backend.events.filter((e) => e.room === 'ps:S1').map((e) => e.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
    } finally {
      await backend.stop();
    }
  });

  it('lets no native peer of the presence room speak the dialect to a streamer or a player of another node', async () => {
    const [a, b] = await twoNodes();
    const streamer = await h.streamerOn(a, 'S1');
    const { player, playerId } = await h.subscribed(b, streamer, 'S1');
    // A native client the presence room is granted to joins it on the streamer's node and sends
    // data to each member (the player's presence peer is on B), to all, and dressed as a relay.
    const intruder = await TestClient.open(a.server.wsUrl, await a.server.token('intruder', [{ room: 'ps:S1', join: true }]));
    try {
      const { peers } = await intruder.ok('room.join', { room: 'ps:S1' });
      expect(peers.map((p) => p.userId).sort()).toEqual([`ps-player:${playerId}`, 'ps-streamer:S1']);
      const streamerPeer = peers.find((p) => p.userId === 'ps-streamer:S1')!.id;
      for (const peer of peers) {
        await intruder.ok('data.send', { to: peer.id, payload: { type: 'offer', sdp: 'forged', playerId } });
        await intruder.ok('data.send', { to: peer.id, payload: { from: streamerPeer, payload: { type: 'offer', sdp: 'forged', playerId } } });
      }
      await intruder.ok('data.send', { payload: { type: 'answer', sdp: 'forged', playerId } });
      await player.expectQuiet();
      await streamer.expectQuiet();
      // The dialect carries on between the two.
      streamer.send({ type: 'offer', playerId, sdp: 'v=0 real' });
      await player.expect({ type: 'offer', playerId, sdp: 'v=0 real' });
      player.send({ type: 'answer', sdp: 'v=0 answer', minBitrateBps: 0, maxBitrateBps: 0 });
      await streamer.expect({ type: 'answer', sdp: 'v=0 answer', minBitrateBps: 0, maxBitrateBps: 0, playerId });
      expect(b.server.app.pixelStreaming!.drops.unroutable).toBeGreaterThanOrEqual(2);
    } finally {
      await intruder.close();
    }
  });

  it('removes the room everywhere once its streamer leaves (after the empty timeout)', async () => {
    const [a, b] = await twoNodes({ rooms: { emptyTimeoutMs: 100 } });
    const streamer = await h.streamerOn(a, 'Gone');
    const { player } = await h.subscribed(b, streamer, 'Gone');
    await eventually(async () => (await listed(b, 'ps:Gone'))?.peers === 2, 10_000, 'node B to list ps:Gone');
    expect((await call(b, 'GET', '/rooms/ps:Gone/peers')).status).toBe(200);

    streamer.close();
    expect((await player.closed).code).toBe(1005);
    await eventually(async () => (await listed(b, 'ps:Gone')) === undefined && (await listed(a, 'ps:Gone')) === undefined, 10_000, 'the room to end');
    // B's own copy of the room (opened by the GETs above) goes when it hears the room's close on
    // the channel, a moment after the directory lets the room go.
    await eventually(async () => (await call(b, 'GET', '/rooms/ps:Gone')).status === 404, 10_000, 'node B to let its copy of the room go');
    expect(await a.server.app.cluster!.directory.members('ps:Gone')).toEqual([]);
  });

  it('refuses a player the full presence room has no place for (rooms.maxPeers), also when two subscribe at once', async () => {
    const [a, b] = await twoNodes({ rooms: { maxPeers: 2 } });
    const streamer = await h.streamerOn(a, 'Full');
    const players = [await h.playerOn(a, 'local'), await h.playerOn(b, 'remote')];
    for (const p of players) {
      p.send({ type: 'subscribe', streamerId: 'Full' });
    }
    await streamer.expectType('playerConnected');
    const refused = await Promise.race(players.map((p) => p.expectType('subscribeFailed')));
    expect(refused).toEqual({ type: 'subscribeFailed', message: 'Streamer Full is full. Max players = 1.' });
    await streamer.expectQuiet();
    expect((await call(b, 'GET', '/rooms/ps:Full')).body).toMatchObject({ peers: 2, maxPeers: 2 });
  });
});

describe.skipIf(!hasRedis)('Pixel Streaming presence joins in flight', () => {
  let redis: TestRedis;
  const h = new PsClusterHarness(() => redis);

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(() => {
    redis.resume();
    return h.cleanup();
  });

  it('leaves no member behind when a player disconnects while its presence join is on its way', async () => {
    // Commands wait while Redis is paused, rather than time out.
    const [a] = await h.twoNodes({}, { redisCommandTimeoutMs: 10_000 });
    const streamer = await h.streamerOn(a, 'Race');
    const directory = a.server.app.cluster!.directory;
    const sig = a.server.app.pixelStreaming!.signalling;
    await eventually(async () => (await directory.members('ps:Race')).length === 1, 5_000, 'the streamer in the directory');
    const player = await h.playerOn(a);
    const playerIds = [...sig.players.keys()];

    redis.pause();
    player.send({ type: 'subscribe', streamerId: 'Race' });
    const arriving = () => sig.streamers.get('Race')!.arriving.size;
    await until(() => arriving() === 1, 5_000, 'the presence join to be on its way');
    player.close();
    await until(() => playerIds.every((id) => !sig.players.has(id)), 5_000, 'node A to see the player go');
    redis.resume();

    await until(() => arriving() === 0, 5_000, 'the presence join to land');
    await eventually(async () => (await directory.members('ps:Race')).length === 1, 5_000, 'the ghost to be removed');
    expect((await directory.members('ps:Race')).map((m) => m.userId)).toEqual(['ps-streamer:Race']);
    expect(a.server.app.rooms.get('ps:Race')!.size).toBe(1);
    await streamer.expectQuiet();
  });
});
