import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlClient, type StreamEvent } from '../../src/cli/console/control-client.js';
import { TestClient } from '../helpers/client.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { haveTool } from '../helpers/require-tool.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

/**
 * The console of a two-node cluster over a real redis-server: either node gives the figures of
 * both, and an inspector started on one node sees the signalling that passes through the other.
 */
const KEY = 'cluster-console-key-0123456789-abcdef';
const hasRedis = haveTool('redis-server', 'redis-server');
let redis: TestRedis;
let nodes: TestServer[];
const clients: TestClient[] = [];

describe.skipIf(!hasRedis)('operator console in a cluster', () => {
  beforeAll(async () => {
    redis = await startRedis();
    const settings = { redis: { url: redis.url }, controlApi: { keys: [{ id: 'ops', key: KEY, scope: 'read-write' as const }] } };
    nodes = [await startServer(settings), await startServer(settings)];
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(nodes.map((n) => n.close()));
    await redis.stop();
  });

  async function join(node: TestServer, user: string, room: string): Promise<{ client: TestClient; peer: string }> {
    const client = await TestClient.open(node.wsUrl, await node.token(user));
    clients.push(client);
    return { client, peer: (await client.ok('room.join', { room })).peer.id };
  }

  it('gives the figures of every node from either node', async () => {
    await join(nodes[0]!, 'u1', 'shared');
    await join(nodes[1]!, 'u2', 'shared');
    await join(nodes[1]!, 'u3', 'other');
    const overview = () =>
      new ControlClient(nodes[0]!.url, KEY).get<{
        cluster: boolean;
        rooms: number;
        nodes: Array<{ node: string; peers: number; connections: number; state: string }>;
      }>('/v1/console/overview');
    await eventually(async () => (await overview()).nodes.length === 2, 10_000, 'both nodes in the overview');
    const seen = await overview();
    expect(seen.cluster).toBe(true);
    expect(seen.rooms).toBe(2);
    expect(seen.nodes.map((n) => n.state)).toEqual(['ready', 'ready']);
    expect(seen.nodes.map((n) => n.peers).sort()).toEqual([1, 2]);
    expect(seen.nodes.reduce((sum, n) => sum + n.connections, 0)).toBe(3);
  });

  it("gives every node's recent figures from either node", async () => {
    const history = () => new ControlClient(nodes[1]!.url, KEY).get<{ nodes: Array<{ node: string; samples: unknown[] }> }>('/v1/console/history');
    await eventually(
      async () => {
        const got = await history();
        return got.nodes.length === 2 && got.nodes.every((n) => n.samples.length >= 1);
      },
      10_000,
      "both nodes' samples",
    );
  });

  it('inspects a room across nodes: the signals sent on the other node reach the watcher', async () => {
    const abort = new AbortController();
    const events: StreamEvent[] = [];
    const done = new ControlClient(nodes[0]!.url, KEY).stream('/v1/inspect?room=call-x', (e) => events.push(e), abort.signal);
    await eventually(() => events.some((e) => e.event === 'started'));
    const a = await join(nodes[1]!, 'alice', 'call-x');
    const b = await join(nodes[0]!, 'bob', 'call-x');
    // Alice's node knows of bob once she is told he joined.
    await a.client.nextEvent('peer.joined', (e) => e.data.peer.id === b.peer);
    await a.client.ok('signal.send', { to: b.peer, signal: { description: { type: 'offer', sdp: 'v=0\r\n' } } });
    const has = (kind: string, type: string) =>
      events.some((e) => e.event === 'record' && (e.data as { kind: string; type: string }).kind === kind && (e.data as { type: string }).type === type);
    await eventually(() => has('request', 'signal.send') && has('event', 'signal'), 10_000, 'the records of both nodes');
    abort.abort();
    await done;
    const records = events.filter((e) => e.event === 'record').map((e) => e.data as { node: string; kind: string; peer: string; type: string });
    const fromOther = records.find((r) => r.kind === 'request' && r.type === 'signal.send');
    const overview = await new ControlClient(nodes[0]!.url, KEY).get<{ node: string; nodes: Array<{ node: string }> }>('/v1/console/overview');
    expect(fromOther?.node).not.toBe(overview.node);
    expect(records.find((r) => r.kind === 'event' && r.type === 'signal')).toMatchObject({ peer: b.peer });
    // And the events the server sent meanwhile: alice was told bob joined.
    expect(records.find((r) => r.kind === 'event' && r.type === 'peer.joined')).toMatchObject({ peer: a.peer });
    // Both nodes let their capture go.
    await eventually(
      async () => {
        const o = await new ControlClient(nodes[1]!.url, KEY).get<{ nodes: Array<{ inspectorCaptures: number }> }>('/v1/console/overview');
        return o.nodes.every((n) => n.inspectorCaptures === 0);
      },
      5000,
      'captures stopped on both nodes',
    );
  });
});
