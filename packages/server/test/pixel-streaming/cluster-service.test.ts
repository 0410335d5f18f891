import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { haveTool } from '../helpers/require-tool.js';
import { until } from '../helpers/wait.js';
import { nodeView } from '../../src/pixel-streaming/service-view.js';
import { PsClusterHarness, type PsNode } from './ps-cluster.js';

// haveTool throws under CI=true when redis-server is missing, so this never skips in CI.
const hasRedis = haveTool('redis-server', 'redis-server');

/**
 * One Pixel Streaming service across the nodes of a cluster (real redis-server): the REST view,
 * matchmaking and `listStreamers` on any node cover every node's streamers and players; a stopped
 * SFU or a streamer that leaves drops out of every node's view; player ids stay unique when Redis
 * loses its data.
 */
describe.skipIf(!hasRedis)('Pixel Streaming: one service across two nodes', () => {
  let redis: TestRedis;
  const h = new PsClusterHarness(() => redis);

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(() => h.cleanup());

  const api = async (node: PsNode, path: string) => {
    const res = await fetch(`${node.server.url}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & Array<Record<string, unknown>> };
  };

  it('a streamer on A is in B’s REST view and matchmaking; players on A and on B both count', async () => {
    const [a, b] = await h.twoNodes({ maxPlayersPerStreamer: 2 });
    const streamer = await h.streamerOn(a, 'S');
    expect((await api(b, '/api/streamers')).body).toEqual([
      { streamerId: 'S', type: 'Streamer', streaming: true, remoteAddress: '127.0.0.1', subscribers: [] },
    ]);
    expect((await api(b, '/api/match')).body).toMatchObject({ streamerId: 'S', players: 0, maxPlayers: 2 });

    const onA = await h.subscribed(a, streamer, 'S');
    const onB = await h.subscribed(b, streamer, 'S');
    for (const node of [a, b]) {
      const { body: one } = await api(node, '/api/streamers/S');
      expect(new Set((one.subscribers as Array<{ playerId: string }>).map((p) => p.playerId))).toEqual(new Set([onA.playerId, onB.playerId]));
      const { body: players } = await api(node, '/api/players');
      expect(players.map((p) => [p.playerId, p.subscribedTo]).sort()).toEqual(
        [
          [onA.playerId, 'S'],
          [onB.playerId, 'S'],
        ].sort(),
      );
      expect((await api(node, `/api/players/${onA.playerId}`)).body).toMatchObject({ playerId: onA.playerId, type: 'Player', subscribedTo: 'S' });
      expect((await api(node, '/api/status')).body).toMatchObject({ streamer_count: 1, player_count: 2, nodes: 2 });
      // Both players fill S (2 of 2), whichever node they are on.
      expect((await api(node, '/api/match')).status).toBe(503);
      expect((await api(node, '/signallingserver')).body).toEqual({ signallingServer: '', error: 'No signalling servers available' });
    }
    // A free streamer on B is what matchmaking on A picks now.
    await h.streamerOn(b, 'T');
    const { body: match } = await api(a, '/api/match');
    expect(match).toMatchObject({ streamerId: 'T', players: 0 });
  });

  it('an SFU stopped on A leaves B’s listStreamers and matchmaking; a streamer that leaves, every view', async () => {
    const [a, b] = await h.twoNodes();
    const streamer = await h.streamerOn(a, 'S');
    const sfu = await h.connect(a.sfuUrl, 'sfu');
    await sfu.expect({ type: 'identify' });
    await sfu.expectType('config');
    sfu.send({ type: 'endpointId', id: 'SFU' });
    await sfu.expect({ type: 'endpointIdConfirm', committedId: 'SFU' });
    const player = await h.playerOn(b);
    player.send({ type: 'listStreamers' });
    await player.expect({ type: 'streamerList', ids: ['S', 'SFU'] });

    sfu.send({ type: 'stopStreaming' });
    await sfu.expectQuiet();
    player.send({ type: 'listStreamers' });
    await player.expect({ type: 'streamerList', ids: ['S'] });
    const sfuSeenFromB = (await api(b, '/api/streamers')).body.find((s) => s.streamerId === 'SFU');
    expect(sfuSeenFromB).toMatchObject({ type: 'SFU', streaming: false });
    // Matchmaking never picks a stopped SFU: S it is, even with S's player on it.
    await h.subscribed(b, streamer, 'S');
    expect((await api(b, '/api/match')).body).toMatchObject({ streamerId: 'S', players: 1 });

    sfu.send({ type: 'startStreaming' });
    await sfu.expectQuiet();
    player.send({ type: 'listStreamers' });
    await player.expect({ type: 'streamerList', ids: ['S', 'SFU'] });

    streamer.close();
    sfu.close();
    const deadline = Date.now() + 5_000;
    for (const node of [a, b]) {
      while ((await api(node, '/api/streamers')).body.length > 0) {
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    player.send({ type: 'listStreamers' });
    await player.expect({ type: 'streamerList', ids: [] });
  });

  it('a lost node’s streamers and players leave the other node’s view within the heartbeat bound', async () => {
    const [a, b] = await h.twoNodes();
    await h.streamerOn(a, 'Doomed');
    await h.playerOn(a);
    await h.streamerOn(b, 'Stays');
    expect((await api(b, '/api/status')).body).toMatchObject({ streamer_count: 2, player_count: 1, nodes: 2 });
    await a.server.app.cluster!.bus.close();
    const deadline = Date.now() + 5_000;
    let status = (await api(b, '/api/status')).body;
    while (status.nodes !== 1) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 50));
      status = (await api(b, '/api/status')).body;
    }
    expect(status).toMatchObject({ streamer_count: 1, player_count: 0 });
    expect((await api(b, '/api/streamers')).body.map((s) => s.streamerId)).toEqual(['Stays']);
  });

  it('a flood of REST calls on B asks A a bounded number of times, and every answer is whole', async () => {
    const [a, b] = await h.twoNodes();
    await h.streamerOn(a, 'S');
    // Count A's answers: the same view, through a counting handler.
    let asked = 0;
    const ps = a.server.app.pixelStreaming!;
    a.server.app.cluster!.handleModule('pixel-streaming.view', () => {
      asked++;
      return nodeView(ps.signalling, ps.drops);
    });
    const answers = await Promise.all(Array.from({ length: 200 }, () => api(b, '/api/streamers')));
    for (const { body } of answers) {
      expect(body.map((s) => s.streamerId)).toEqual(['S']);
    }
    expect(asked).toBeGreaterThan(0);
    expect(asked).toBeLessThan(20);
  });

  it.each(['restarted empty', 'flushed'] as const)('keeps player ids unique when Redis is %s', async (how) => {
    const [a, b] = await h.twoNodes();
    const held: string[] = [];
    const playersOf = (node: PsNode) => [...node.server.app.pixelStreaming!.signalling.players.keys()];
    for (let i = 0; i < 4; i++) {
      await h.playerOn(i % 2 ? a : b, `before ${i}`);
    }
    held.push(...playersOf(a), ...playersOf(b));
    expect(new Set(held).size).toBe(4);
    if (how === 'flushed') {
      const client = new Redis(redis.url);
      await client.flushall();
      client.disconnect();
    } else {
      await redis.restart();
    }
    // Back in the cluster: each node learns it was dropped and claims what it holds again.
    await until(() => a.server.app.cluster!.bus.connected && b.server.app.cluster!.bus.connected, 10_000, 'both nodes to reconnect');
    const deadline = Date.now() + 10_000;
    while ((await a.server.app.cluster!.directory.nextId('probe').catch(() => 0)) === 0) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 20));
    }
    for (let i = 0; i < 4; i++) {
      await h.playerOn(i % 2 ? a : b, `after ${i}`);
    }
    const all = [...playersOf(a), ...playersOf(b)];
    expect(all).toHaveLength(8);
    expect(new Set(all).size).toBe(8);
    for (const id of all.filter((id) => !held.includes(id))) {
      expect(id).toMatch(/^Player\d+$/);
    }
  });
});
