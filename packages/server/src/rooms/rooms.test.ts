import { describe, expect, it } from 'vitest';
import { identity, RecordingSink, roomEventLog, roomsOnFakeTime } from '../test-support/room-fixtures.js';
import type { Rooms } from './rooms.js';

const code = (c: string) => expect.objectContaining({ code: c });

function join(rooms: Rooms, userId: string, roomId = 'r', extra: Partial<Parameters<Rooms['join']>[0]> = {}) {
  const sink = new RecordingSink();
  const result = rooms.join({ identity: identity(userId), roomId, sink, ...extra });
  return { ...result, sink };
}

describe('Rooms: join and leave', () => {
  it('creates the room on the first join, tells the others of each newcomer, and lists who was there', () => {
    const { rooms } = roomsOnFakeTime();
    const log = roomEventLog(rooms);
    const a = join(rooms, 'alice', 'r', { name: 'Alice', metadata: { x: 1 } });
    expect(a.others).toEqual([]);
    expect(a.room.info()).toMatchObject({ id: 'r', maxPeers: 4, metadata: {} });
    const b = join(rooms, 'bob');
    expect(b.others).toEqual([a.peer.info()]);
    expect(a.peer.info()).toMatchObject({ id: 'PR_1', userId: 'alice', name: 'Alice', metadata: { x: 1 } });
    expect(a.sink.events).toEqual([{ type: 'peer.joined', data: { peer: b.peer.info() } }]);
    expect(b.sink.events).toEqual([]);
    expect(log).toEqual(['room.started r', 'peer.joined PR_1', 'peer.joined PR_2']);
    expect([rooms.count, rooms.get('r')]).toEqual([1, a.room]);
  });

  it("merges the token's metadata under the join's", () => {
    const { rooms } = roomsOnFakeTime();
    const sink = new RecordingSink();
    const { peer } = rooms.join({
      identity: identity('alice', undefined, { metadata: { a: 1, b: 1 }, name: 'From token' }),
      roomId: 'r',
      sink,
      metadata: { b: 2 },
    });
    expect(peer.info()).toMatchObject({ name: 'From token', metadata: { a: 1, b: 2 } });
  });

  it('tells the others when a peer leaves, and leaving twice does nothing', () => {
    const { rooms } = roomsOnFakeTime();
    const a = join(rooms, 'alice');
    const b = join(rooms, 'bob');
    const log = roomEventLog(rooms);
    rooms.leave(b.peer, 'left');
    rooms.leave(b.peer, 'left');
    expect(a.sink.events.at(-1)).toEqual({ type: 'peer.left', data: { peerId: b.peer.id, reason: 'left' } });
    expect(a.sink.types().filter((t) => t === 'peer.left')).toHaveLength(1);
    expect(log).toEqual(['peer.left PR_2 left']);
    expect(b.sink.detachments).toEqual([]);
  });

  it('keeps one session per user and room: the newest replaces the older, which is detached', () => {
    const { rooms } = roomsOnFakeTime();
    const other = join(rooms, 'bob');
    const first = join(rooms, 'alice');
    const log = roomEventLog(rooms);
    const second = join(rooms, 'alice');
    expect(first.sink.detachments).toEqual([{ reason: 'replaced', detail: undefined }]);
    expect(second.others).toEqual([other.peer.info()]);
    expect(other.sink.events.slice(-2)).toEqual([
      { type: 'peer.left', data: { peerId: first.peer.id, reason: 'replaced' } },
      { type: 'peer.joined', data: { peer: second.peer.info() } },
    ]);
    expect(log).toEqual([`peer.left ${first.peer.id} replaced`, `peer.joined ${second.peer.id}`]);
    expect(second.room.byUser.get('alice')).toBe(second.peer);
    expect(second.room.size).toBe(2);
  });

  it('refuses a join into a full room with ROOM_FULL, and a replacement of a member still fits', () => {
    const { rooms } = roomsOnFakeTime({ maxPeers: 2, emptyTimeoutMs: 1000 });
    join(rooms, 'alice');
    join(rooms, 'bob');
    expect(() => join(rooms, 'carol')).toThrow(code('ROOM_FULL'));
    expect(() => join(rooms, 'bob')).not.toThrow();
    expect(rooms.get('r')!.size).toBe(2);
  });

  it('refuses with FORBIDDEN what the token does not grant, and ROOM_NOT_FOUND a creation it does not grant', () => {
    const { rooms } = roomsOnFakeTime();
    const sink = new RecordingSink();
    expect(() => rooms.join({ identity: identity('u', [{ room: 'other', join: true, create: true }]), roomId: 'r', sink })).toThrow(code('FORBIDDEN'));
    expect(() => rooms.join({ identity: identity('u', [{ room: 'r', join: true }]), roomId: 'r', sink })).toThrow(code('ROOM_NOT_FOUND'));
    // The token may create, but the room service was not asked: no creation either.
    expect(() => rooms.join({ identity: identity('u'), roomId: 'r', sink, createAllowed: false })).toThrow(code('ROOM_NOT_FOUND'));
    expect(rooms.count).toBe(0);
    join(rooms, 'creator');
    expect(() => rooms.join({ identity: identity('u', [{ room: 'r', join: true }]), roomId: 'r', sink })).not.toThrow();
  });

  it("takes the creator's options, the node's maxPeers being the most one may ask for", () => {
    const { rooms } = roomsOnFakeTime();
    const { room } = join(rooms, 'alice', 'r', { create: { maxPeers: 99, emptyTimeoutMs: 5, metadata: { topic: 't' } } });
    expect([room.maxPeers, room.emptyTimeoutMs, room.metadata]).toEqual([4, 5, { topic: 't' }]);
    const small = join(rooms, 'alice', 's', { create: { maxPeers: 2 } }).room;
    expect([small.maxPeers, small.emptyTimeoutMs]).toEqual([2, 1000]);
  });

  it('refuses metadata that will not serialise before anything changes', () => {
    const { rooms } = roomsOnFakeTime();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => join(rooms, 'alice', 'r', { metadata: cyclic })).toThrow(TypeError);
    expect(() => join(rooms, 'alice', 'r', { create: { metadata: cyclic } })).toThrow(TypeError);
    expect(rooms.count).toBe(0);
  });
});

describe('Rooms: the lifetime of an empty room, on fake time', () => {
  it('deletes a room emptyTimeoutMs after its last peer left, and not before', () => {
    const { rooms, clock } = roomsOnFakeTime();
    const log = roomEventLog(rooms);
    const a = join(rooms, 'alice');
    rooms.leave(a.peer, 'left');
    clock.advance(999);
    expect(rooms.get('r')).toBe(a.room);
    clock.advance(1);
    expect(rooms.get('r')).toBeUndefined();
    expect(log).toEqual(['room.started r', 'peer.joined PR_1', 'peer.left PR_1 left', 'room.finished r empty']);
    expect(clock.pending).toBe(0);
  });

  it('keeps a room that someone joins while it waits, and starts the wait again when it empties', () => {
    const { rooms, clock } = roomsOnFakeTime();
    const a = join(rooms, 'alice');
    rooms.leave(a.peer, 'left');
    clock.advance(900);
    const b = join(rooms, 'bob');
    expect(clock.pending).toBe(0);
    clock.advance(5000);
    expect(rooms.get('r')).toBe(b.room);
    rooms.leave(b.peer, 'left');
    expect(clock.pendingDelays()).toEqual([1000]);
  });

  it('gives a room created empty (control API) its lifetime, and refuses a second with CONFLICT', () => {
    const { rooms, clock } = roomsOnFakeTime();
    const room = rooms.create('r', { emptyTimeoutMs: 50, maxPeers: 3, metadata: { m: 1 } });
    expect(room.info()).toMatchObject({ id: 'r', maxPeers: 3, metadata: { m: 1 } });
    expect(() => rooms.create('r')).toThrow(code('CONFLICT'));
    clock.advance(50);
    expect(rooms.count).toBe(0);
  });

  it('hold keeps an empty room while a join is under way; release lets its lifetime run again', () => {
    const { rooms, clock } = roomsOnFakeTime();
    const room = rooms.create('r');
    rooms.hold(room);
    clock.advance(10_000);
    expect(rooms.get('r')).toBe(room);
    rooms.release(room);
    clock.advance(1000);
    expect(rooms.get('r')).toBeUndefined();
  });

  it('release does nothing while a member of this node is in the room', () => {
    const { rooms, clock } = roomsOnFakeTime();
    const a = join(rooms, 'alice');
    rooms.release(a.room);
    expect(clock.pending).toBe(0);
  });

  it('in a cluster asks the cluster to retire the room and reports its end only if it did', async () => {
    const { rooms, clock } = roomsOnFakeTime();
    const log = roomEventLog(rooms);
    const retired: string[] = [];
    let deleted = false;
    rooms.attachCluster({ retire: async (room) => (retired.push(room.id), deleted), closed: () => undefined, updated: () => undefined });
    rooms.create('kept');
    clock.advance(1000);
    await Promise.resolve();
    deleted = true;
    rooms.create('gone');
    clock.advance(1000);
    await Promise.resolve();
    expect(retired).toEqual(['kept', 'gone']);
    expect(log.filter((l) => l.startsWith('room.finished'))).toEqual(['room.finished gone empty']);
  });

  it('close() cancels every wait, reports each room ended by shutdown, once', () => {
    const { rooms, clock } = roomsOnFakeTime();
    const log = roomEventLog(rooms);
    rooms.create('a');
    join(rooms, 'alice', 'b');
    rooms.close();
    rooms.close();
    expect(clock.pending).toBe(0);
    expect(rooms.count).toBe(0);
    expect(log.filter((l) => l.startsWith('room.finished'))).toEqual(['room.finished a shutdown', 'room.finished b shutdown']);
  });
});

describe("Rooms: the backend's orders", () => {
  it('closeRoom detaches everyone with room_closed, reports each peer and the room once, and tells the cluster', () => {
    const { rooms, clock } = roomsOnFakeTime();
    const closed: string[] = [];
    rooms.attachCluster({ retire: async () => true, closed: (room, reason) => closed.push(`${room.id} ${reason}`), updated: () => undefined });
    const a = join(rooms, 'alice');
    const b = join(rooms, 'bob');
    const log = roomEventLog(rooms);
    rooms.closeRoom(a.room, 'over');
    rooms.closeRoom(a.room, 'over');
    expect(a.sink.detachments).toEqual([{ reason: 'room_closed', detail: 'over' }]);
    expect(b.sink.detachments).toEqual([{ reason: 'room_closed', detail: 'over' }]);
    // Nobody is told of the others leaving: they all go at once.
    expect(a.sink.types()).toEqual(['peer.joined']);
    expect(log).toEqual(['peer.left PR_1 room_closed', 'peer.left PR_2 room_closed', 'room.finished r closed']);
    expect(closed).toEqual(['r over']);
    expect([rooms.get('r'), a.room.size, a.room.byUser.size, clock.pending]).toEqual([undefined, 0, 0, 0]);
  });

  it("closeRoom on another node's order (origin false) reports the peers but not the room, nor tells the cluster", () => {
    const { rooms } = roomsOnFakeTime();
    const closed: string[] = [];
    rooms.attachCluster({ retire: async () => true, closed: (room) => closed.push(room.id), updated: () => undefined });
    const a = join(rooms, 'alice');
    const log = roomEventLog(rooms);
    rooms.closeRoom(a.room, 'over', false);
    expect(log).toEqual(['peer.left PR_1 room_closed']);
    expect(closed).toEqual([]);
  });

  it('updateRoom tells every peer the new metadata and the cluster', () => {
    const { rooms } = roomsOnFakeTime();
    const updated: string[] = [];
    rooms.attachCluster({ retire: async () => true, closed: () => undefined, updated: (room) => updated.push(room.id) });
    const a = join(rooms, 'alice');
    const b = join(rooms, 'bob');
    rooms.updateRoom(a.room, { topic: 'new' });
    const expected = { type: 'room.updated', data: { room: { ...a.room.info(), metadata: { topic: 'new' } } } };
    expect([a.sink.events.at(-1), b.sink.events.at(-1)]).toEqual([expected, expected]);
    expect(a.room.metadata).toEqual({ topic: 'new' });
    expect(updated).toEqual(['r']);
  });

  it('updatePeer tells the others, and the peer itself only when notifySelf', () => {
    const { rooms } = roomsOnFakeTime();
    const a = join(rooms, 'alice');
    const b = join(rooms, 'bob');
    const log = roomEventLog(rooms);
    rooms.updatePeer(a.peer, { name: 'A' });
    expect(b.sink.events.at(-1)).toEqual({ type: 'peer.updated', data: { peer: a.peer.info() } });
    expect(a.sink.types()).toEqual(['peer.joined']);
    rooms.updatePeer(a.peer, { metadata: { m: 2 }, permissions: { data: false } }, true);
    expect(a.sink.events.at(-1)).toEqual({ type: 'peer.updated', data: { peer: { ...a.peer.info(), name: 'A', metadata: { m: 2 } } } });
    expect(a.peer.permissions).toEqual({ signal: true, data: false, update: true });
    expect(log).toEqual(['peer.updated PR_1', 'peer.updated PR_1']);
  });

  it('updatePeer with metadata that will not serialise changes nothing', () => {
    const { rooms } = roomsOnFakeTime();
    const a = join(rooms, 'alice', 'r', { name: 'A' });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => rooms.updatePeer(a.peer, { name: 'B', metadata: cyclic })).toThrow(TypeError);
    expect(a.peer.info()).toMatchObject({ name: 'A', metadata: {} });
  });

  it('kick detaches the peer with the reason, tells the others, and starts the empty wait when it was the last', () => {
    const { rooms, clock } = roomsOnFakeTime();
    const a = join(rooms, 'alice');
    const b = join(rooms, 'bob');
    const log = roomEventLog(rooms);
    rooms.kick(b.peer, 'rude');
    expect(b.sink.detachments).toEqual([{ reason: 'kicked', detail: 'rude' }]);
    expect(a.sink.events.at(-1)).toEqual({ type: 'peer.left', data: { peerId: b.peer.id, reason: 'kicked' } });
    rooms.kick(b.peer, 'again');
    expect(b.sink.detachments).toHaveLength(1);
    rooms.kick(a.peer, 'rude');
    expect(log).toEqual(['peer.left PR_2 kicked', 'peer.left PR_1 kicked']);
    expect(clock.pendingDelays()).toEqual([1000]);
  });
});

describe('Rooms: a listener that throws', () => {
  it('does not stop the room change or the other listeners', () => {
    const { rooms } = roomsOnFakeTime();
    const seen: string[] = [];
    rooms.events.on('peer.joined', () => {
      throw new Error('observer bug');
    });
    rooms.events.on('peer.joined', ({ peer }) => seen.push(peer.id));
    const a = join(rooms, 'alice');
    expect(a.room.size).toBe(1);
    expect(seen).toEqual(['PR_1']);
  });
});
