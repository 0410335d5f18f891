import { afterEach, describe, expect, it } from 'vitest';
import type { EventType, LeaveReason } from '@heliograph/protocol';
import { FakeClock } from '@heliograph/common';
import { ClusterNode } from '../../src/cluster/cluster-node.js';
import { ClusterRooms } from '../../src/cluster/cluster-rooms.js';
import { createMemoryBus, MemoryHub, type MemoryTransport } from '../../src/test-support/memory-bus.js';
import { isNodeMessage } from '../../src/cluster/message-schemas.js';
import { MemoryDirectory, MemoryDirectoryState } from '../../src/test-support/memory-directory.js';
import type { NodeMessage } from '../../src/cluster/messages.js';
import type { PeerSink } from '../../src/rooms/peer-sink.js';
import { Rooms } from '../../src/rooms/rooms.js';
import { AppError } from '../../src/shared/app-error.js';
import { sequentialIds } from '../../src/shared/ids.js';
import { createLogger } from '../../src/shared/logger.js';

/**
 * The cluster room core's failure handling on fake time: several nodes in this process on one
 * in-memory hub and directory (the same contract as Redis), so that a crash, a partition and a
 * return can be staged exactly and time advanced without waiting.
 */

const logger = createLogger('silent');
const timing = { heartbeatIntervalMs: 1_000, heartbeatTtlMs: 3_000, requestTimeoutMs: 2_000 };
const defaults = { maxPeers: 10, emptyTimeoutMs: 60_000 };
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

class RecordingSink implements PeerSink {
  readonly events: Array<{ type: EventType; data: unknown }> = [];
  readonly detachedWith: LeaveReason[] = [];
  sendEvent(type: EventType, dataJson: string) {
    this.events.push({ type, data: JSON.parse(dataJson) });
    return 'ok' as const;
  }
  detached(reason: LeaveReason) {
    this.detachedWith.push(reason);
  }
  of(type: EventType): unknown[] {
    return this.events.filter((e) => e.type === type).map((e) => e.data);
  }
}

interface TestNode {
  rooms: Rooms;
  cluster: ClusterRooms;
  node: ClusterNode;
  transport: MemoryTransport;
}

const clock = new FakeClock();
let hub = new MemoryHub(clock);
let state = new MemoryDirectoryState();
const nodes: TestNode[] = [];

/** A directory whose first `restore()` fails, as when Redis's directory connection is not back yet. */
class SlowToRestoreDirectory extends MemoryDirectory {
  restoreCalls = 0;
  override async restore() {
    if (++this.restoreCalls === 1) {
      throw new AppError('UNAVAILABLE', 'not reconnected yet');
    }
    return super.restore();
  }
}

/** A directory whose `addMember` answers only when the test opens the gate (the reply is late). */
class LateReplyDirectory extends MemoryDirectory {
  gate: Promise<void> | undefined;
  override async addMember(member: Parameters<MemoryDirectory['addMember']>[0]) {
    const result = await super.addMember(member);
    await this.gate;
    return result;
  }
}

async function startNode(id: string, directory = new MemoryDirectory(state)): Promise<TestNode> {
  const { bus, transport } = createMemoryBus<NodeMessage>({ nodeId: id, hub, logger, timing, isMessage: isNodeMessage });
  const node = new ClusterNode(bus, directory, logger);
  const seq = sequentialIds();
  const rooms = new Rooms({ clock, ids: (prefix) => `${id}-${seq(prefix)}`, logger, defaults });
  const cluster = new ClusterRooms({ node, rooms, clock, logger, defaults, requestTimeoutMs: timing.requestTimeoutMs });
  await node.start();
  const started = { rooms, cluster, node, transport };
  nodes.push(started);
  return started;
}

async function join(n: TestNode, userId: string, roomId: string) {
  const sink = new RecordingSink();
  const identity = { userId, grants: [{ room: '*', join: true, create: true }], expiresAt: Infinity };
  const result = await n.cluster.join({ identity, roomId, sink });
  return { ...result, sink };
}

/** Advances fake time in small steps, letting I/O callbacks run, until `check()` holds. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    await flush();
    if (check()) {
      return;
    }
    clock.advance(250);
  }
  throw new Error(`never happened: ${what}`);
}

afterEach(async () => {
  for (const n of nodes.splice(0)) {
    await n.cluster.close();
    await n.node.close();
    n.rooms.close();
  }
  hub = new MemoryHub(clock);
  state = new MemoryDirectoryState();
});

describe('cluster rooms on fake time', () => {
  it("reports a crashed node's peers as left with node_lost and cleans the directory", async () => {
    const a = await startNode('A');
    const b = await startNode('B');
    const alice = await join(a, 'alice', 'r');
    const bob = await join(b, 'bob', 'r');
    await eventually(() => alice.sink.of('peer.joined').length === 1, 'alice to see bob');

    b.transport.crash();
    await eventually(() => alice.sink.of('peer.left').length === 1, 'alice to see bob lost');
    expect(alice.sink.of('peer.left')).toEqual([{ peerId: bob.peer.id, reason: 'node_lost' }]);
    expect([...alice.room.peers.keys()]).toEqual([alice.peer.id]);
    expect((await a.node.directory.members('r')).map((m) => m.peerId)).toEqual([alice.peer.id]);
  });

  it("one survivor reports a lost node's members to observers (webhooks), and ends the rooms nobody holds", async () => {
    const a = await startNode('A');
    const b = await startNode('B');
    const c = await startNode('C');
    const seen: string[] = [];
    for (const [name, n] of [
      ['A', a],
      ['C', c],
    ] as const) {
      n.rooms.events.on('peer.left', ({ room, peer, reason }) => seen.push(`${name} peer.left ${room.id} ${peer.userId} ${reason}`));
      n.rooms.events.on('room.finished', ({ room, reason }) => seen.push(`${name} room.finished ${room.id} ${reason}`));
    }
    await join(a, 'alice', 'shared');
    await join(b, 'bert', 'shared');
    await join(b, 'bob', 'solo');
    b.transport.crash();
    await eventually(() => seen.length >= 3, 'the reports').catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(seen)}`);
    });
    const reporter = seen[0]!.slice(0, 1);
    expect(seen.sort()).toEqual(
      [`${reporter} peer.left shared bert node_lost`, `${reporter} peer.left solo bob node_lost`, `${reporter} room.finished solo node_lost`].sort(),
    );
    expect(await a.node.directory.getRoom('solo')).toBeUndefined();
    expect(await a.node.directory.getRoom('shared')).toBeDefined();
  });

  it('a partitioned node comes back: its peers are written back and announced again, nobody is replaced', async () => {
    const a = await startNode('A');
    const b = await startNode('B');
    const alice = await join(a, 'alice', 'r');
    const bob = await join(b, 'bob', 'r');
    await eventually(() => alice.sink.of('peer.joined').length === 1, 'alice to see bob');

    b.transport.disconnect();
    await eventually(() => alice.sink.of('peer.left').length === 1, 'A to judge B lost');
    expect((await a.node.directory.members('r')).map((m) => m.peerId)).toEqual([alice.peer.id]);

    b.transport.reconnect();
    await eventually(() => alice.sink.of('peer.joined').length === 2, 'B to announce bob again');
    expect((await a.node.directory.members('r')).map((m) => m.peerId).sort()).toEqual([alice.peer.id, bob.peer.id].sort());
    expect(bob.sink.detachedWith).toEqual([]);
    // Relays work both ways again.
    await b.rooms.get('r')!.peers.get(alice.peer.id)!.relay('signal', '{"from":"x","signal":1}');
    expect(alice.sink.of('signal')).toEqual([{ from: 'x', signal: 1 }]);
  });

  it('after the store lost everything, a node writes back its rooms, empty ones included, and its members', async () => {
    const a = await startNode('A');
    await a.cluster.catalog.create('lobby', { metadata: { kind: 'waiting' }, emptyTimeoutMs: 120_000 });
    const alice = await join(a, 'alice', 'r');
    for (const map of [state.rooms, state.peers, state.claims, state.sequences]) {
      map.clear();
    }
    hub.wipeRegistry();
    let lobby: Awaited<ReturnType<MemoryDirectory['getRoom']>>;
    await eventually(() => {
      void a.node.directory.getRoom('lobby').then((r) => (lobby = r));
      return lobby !== undefined;
    }, 'the empty room to be written back');
    expect(lobby).toMatchObject({ maxPeers: defaults.maxPeers, metadata: { kind: 'waiting' }, emptyTimeoutMs: 120_000 });
    expect((await a.node.directory.members('r')).map((m) => m.peerId)).toEqual([alice.peer.id]);
  });

  it('a node that cannot write itself back at once keeps trying', async () => {
    const a = await startNode('A');
    const directory = new SlowToRestoreDirectory(state);
    const b = await startNode('B', directory);
    await join(a, 'alice', 'r');
    const bob = await join(b, 'bob', 'r');
    b.transport.disconnect();
    await eventually(() => a.rooms.get('r')!.size === 1, 'A to judge B lost');
    b.transport.reconnect();
    await eventually(() => a.rooms.get('r')!.size === 2, 'B to be back in the room');
    expect(directory.restoreCalls).toBe(2);
    expect((await a.node.directory.members('r')).map((m) => m.peerId)).toContain(bob.peer.id);
  });

  it('a join whose directory reply comes after a newer session replaced it is refused, never a ghost', async () => {
    const directory = new LateReplyDirectory(state);
    const a = await startNode('A', directory);
    const b = await startNode('B');
    await join(a, 'alice', 'r');
    let open!: () => void;
    directory.gate = new Promise((resolve) => (open = resolve));
    const sink = new RecordingSink();
    const identity = { userId: 'dave', grants: [{ room: '*', join: true, create: true }], expiresAt: Infinity };
    const first = a.cluster.join({ identity, roomId: 'r', sink }).then(
      () => 'joined',
      (err: { code?: string }) => err.code,
    );
    await flush();
    const newer = await join(b, 'dave', 'r');
    await eventually(() => a.rooms.get('r')!.peers.has(newer.peer.id), 'A to hear of the newer session');
    open();
    expect(await first).toBe('CONFLICT');
    expect(sink.detachedWith).toEqual(['replaced']);
    const daves = [...a.rooms.get('r')!.peers.values()].filter((p) => p.userId === 'dave');
    expect(daves.map((p) => p.id)).toEqual([newer.peer.id]);
    expect((await a.node.directory.members('r')).filter((m) => m.userId === 'dave').map((m) => m.peerId)).toEqual([newer.peer.id]);
  });

  it('a partitioned node whose user joined elsewhere meanwhile detaches its stale session', async () => {
    const a = await startNode('A');
    const b = await startNode('B');
    await join(a, 'alice', 'r');
    const oldBob = await join(b, 'bob', 'r');
    b.transport.disconnect();
    await eventually(() => a.rooms.get('r')!.size === 1, 'A to judge B lost');

    const newBob = await join(a, 'bob', 'r');
    b.transport.reconnect();
    await eventually(() => oldBob.sink.detachedWith.length === 1, 'the old session to be detached');
    expect(oldBob.sink.detachedWith).toEqual(['replaced']);
    expect((await a.node.directory.members('r')).filter((m) => m.userId === 'bob').map((m) => m.peerId)).toEqual([newBob.peer.id]);
  });

  it('deletes a room only when it is empty on every node, and reports room.finished once', async () => {
    const a = await startNode('A');
    const b = await startNode('B');
    const finished: string[] = [];
    a.rooms.events.on('room.finished', ({ room }) => finished.push(`A:${room.id}`));
    b.rooms.events.on('room.finished', ({ room }) => finished.push(`B:${room.id}`));
    const alice = await join(a, 'alice', 'r');
    await join(b, 'bob', 'r');
    a.rooms.leave(alice.peer, 'left');

    clock.advance(defaults.emptyTimeoutMs);
    await eventually(() => a.rooms.get('r') === undefined, 'A to let go of its object');
    expect(await a.node.directory.getRoom('r')).toBeDefined();
    expect(finished).toEqual([]);

    const bob = b.rooms.get('r')!.peers.values().next().value!;
    b.rooms.leave(bob, 'left');
    clock.advance(defaults.emptyTimeoutMs);
    await eventually(() => finished.length === 1, 'the room to finish');
    expect(finished).toEqual(['B:r']);
    expect(await a.node.directory.getRoom('r')).toBeUndefined();
  });

  it('a relay to a peer on a node that went silent fails, never hangs', async () => {
    const a = await startNode('A');
    const b = await startNode('B');
    await join(a, 'alice', 'r');
    const bob = await join(b, 'bob', 'r');
    b.transport.crash();
    const mirror = a.rooms.get('r')!.peers.get(bob.peer.id)!;
    const relay = Promise.resolve(mirror.relay('signal', '{}'));
    const outcome = relay.then(
      () => 'delivered',
      (err: { code?: string }) => err.code,
    );
    let settled: string | undefined;
    void outcome.then((o) => (settled = o));
    await eventually(() => settled !== undefined, 'the relay to settle');
    expect(['UNAVAILABLE', 'TIMEOUT']).toContain(settled);
  });
});
