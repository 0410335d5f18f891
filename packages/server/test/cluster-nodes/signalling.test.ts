import { CLOSE_CODES, type Event, type PeerInfo } from '@heliograph/protocol';
import { describe, expect, it } from 'vitest';
import type { TestClient } from '../helpers/client.js';
import { haveTool } from '../helpers/require-tool.js';
import { until } from '../helpers/wait.js';
import { NO_RATE_LIMIT, useNodeCluster, within } from './fixture.js';

/**
 * What this folder proves: Heliograph scales out over Redis as separate `heliograph serve`
 * processes (the built CLI), with one real redis-server and plain WebSocket clients (the SDK
 * where stated) — the acceptance tests of "Scale out over Redis". This file: peers on different
 * nodes share a room and exchange acked signals in order, a room's limit holds under concurrent
 * joins spread over three nodes, and one user has one session per room across nodes.
 * Node loss and Redis outages: failures.test.ts; SIGTERM drain behind a load balancer: drain.test.ts.
 */

// haveTool throws under CI=true when redis-server is missing, so this never skips in CI.
const hasRedis = haveTool('redis-server', 'redis-server');

const SIGNALS = 1_000;

/** Sends `SIGNALS` signals numbered 0.. to `to`, all at once; every one must be acked ok. */
async function sendNumbered(from: TestClient, to: string): Promise<void> {
  await Promise.all(Array.from({ length: SIGNALS }, (_, n) => from.ok('signal.send', { to, signal: { type: 'candidate', n } })));
}

/** The numbers of the signals `client` received from `from`, in arrival order. */
function receivedNumbers(client: TestClient, from: string): number[] {
  return client.log.flatMap((e) => (e.type === 'signal' && e.data.from === from ? [(e.data.signal as { n: number }).n] : []));
}

/** The peers `client` believes are in its room after each event of its log (from its join's `peers`). */
function viewsOver(log: readonly Event[], initial: readonly PeerInfo[]): PeerInfo[][] {
  const views: PeerInfo[][] = [];
  let view = [...initial];
  for (const e of log) {
    if (e.type === 'peer.joined') {
      view = [...view, e.data.peer];
    } else if (e.type === 'peer.left') {
      view = view.filter((p) => p.id !== e.data.peerId);
    }
    views.push(view);
  }
  return views;
}

describe.skipIf(!hasRedis)('a cluster of node processes: rooms and signals', () => {
  const cluster = useNodeCluster();

  it('peers on two nodes exchange 1,000 acked signals each way, each side receiving 0..999 in order', async () => {
    const [a, b] = await cluster.start(2, NO_RATE_LIMIT);
    const alice = await cluster.client(a!, 'alice');
    const bob = await cluster.client(b!, 'bob');
    const { peer: pa } = await alice.ok('room.join', { room: 'order' });
    const { peer: pb, peers } = await bob.ok('room.join', { room: 'order' });
    expect(peers.map((p) => p.id)).toEqual([pa.id]);
    await alice.nextEvent('peer.joined', (e) => e.data.peer.id === pb.id);

    await Promise.all([sendNumbered(alice, pb.id), sendNumbered(bob, pa.id)]);
    // An ack means "handed to the recipient's connection": the frames are on their way.
    await until(() => receivedNumbers(bob, pa.id).length === SIGNALS && receivedNumbers(alice, pb.id).length === SIGNALS, 10_000, 'every signal');
    const inOrder = Array.from({ length: SIGNALS }, (_, n) => n);
    expect(receivedNumbers(bob, pa.id)).toEqual(inOrder);
    expect(receivedNumbers(alice, pb.id)).toEqual(inOrder);
  }, 60_000);

  it("holds a room's limit under 15 concurrent joins spread over three nodes: exactly 4 in, 11 ROOM_FULL", async () => {
    const nodes = await cluster.start(3, ['--rooms.max-peers', '4']);
    const clients = await Promise.all(Array.from({ length: 15 }, (_, i) => cluster.client(nodes[i % 3]!, `user${i}`)));
    const results = await Promise.all(clients.map((c) => c.request('room.join', { room: 'small' })));
    const joined = results.flatMap((r) => (r.ok ? [r.data.peer.id] : []));
    const codes = results.flatMap((r) => (r.ok ? [] : [r.error.code]));
    expect(joined).toHaveLength(4);
    expect(codes).toEqual(Array.from({ length: 11 }, () => 'ROOM_FULL'));
    // Everyone in agrees on who is in: a late joiner refused, the members the same everywhere.
    const late = await cluster.client(nodes[0]!, 'late');
    expect((await late.fail('room.join', { room: 'small' })).code).toBe('ROOM_FULL');
  }, 60_000);

  it('replaces the older session of a user who joins the same room on another node; a third peer never sees two', async () => {
    const [a, b, c] = await cluster.start(3);
    const first = await cluster.client(a!, 'dave');
    const { peer: old } = await first.ok('room.join', { room: 'dup' });
    const carol = await cluster.client(c!, 'carol');
    const carolJoin = await carol.ok('room.join', { room: 'dup' });
    expect(carolJoin.peers.map((p) => p.id)).toEqual([old.id]);

    const second = await cluster.client(b!, 'dave');
    const { peer: fresh, peers } = await second.ok('room.join', { room: 'dup' });
    expect(peers.map((p) => p.userId)).toEqual(['carol']);

    expect((await first.nextEvent('session.replaced')).data).toEqual({});
    expect((await within(first.closed, 5_000, 'the replaced connection to close')).code).toBe(CLOSE_CODES.SESSION_REPLACED);

    const left = await carol.nextEvent('peer.left');
    expect(left.data).toEqual({ peerId: old.id, reason: 'replaced' });
    const joined = await carol.nextEvent('peer.joined');
    expect(joined.data.peer).toMatchObject({ id: fresh.id, userId: 'dave' });
    // Carol's view of the room, after every event she got: never two peers of dave.
    for (const view of viewsOver(carol.log, carolJoin.peers)) {
      expect(view.filter((p) => p.userId === 'dave').length).toBeLessThanOrEqual(1);
    }
    // The new session works across nodes.
    await carol.ok('signal.send', { to: fresh.id, signal: { type: 'offer', sdp: 'v=0' } });
    expect((await second.nextEvent('signal')).data).toEqual({ from: carolJoin.peer.id, signal: { type: 'offer', sdp: 'v=0' } });
  }, 60_000);
});
