import { describe, expect, it } from 'vitest';
import type { EventType } from '@heliograph/protocol';
import { RecordingSink } from '../test-support/room-fixtures.js';
import type { PeerPermissions } from './peer-permissions.js';
import { Peer, Room } from './room.js';

// Relays to remote peers and hand-overs are in peer-route.test.ts; this is the room's bookkeeping.

const newRoom = () => new Room('r', 0, { maxPeers: 10, emptyTimeoutMs: 0, metadata: { m: 1 } });

function member(room: Room, id: string, userId = `u-${id}`): { peer: Peer; sink: RecordingSink } {
  const sink = new RecordingSink();
  const peer = new Peer(id, userId, room, sink, 5, undefined, {});
  room.add(peer);
  return { peer, sink };
}

describe('Room', () => {
  it('counts as delivered the events a connection took or kept for a resume, and not those that were lost', () => {
    const room = newRoom();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((id) => member(room, id));
    b!.sink.delivery = 'queued';
    c!.sink.delivery = 'gone';
    d!.sink.delivery = 'overloaded';
    expect(room.broadcast('data', '{"n":1}')).toBe(2);
    expect(room.broadcast('data', '{"n":2}', 'a')).toBe(1);
    expect(a!.sink.events.at(-1)).toEqual({ type: 'data', data: { n: 1 } });
    expect(b!.sink.events.at(-1)).toEqual({ type: 'data', data: { n: 2 } });
  });

  it("publishes on its link only for the cluster scope, with the subject's permissions and the one left out", () => {
    const room = newRoom();
    const published: Array<[EventType, string, string | undefined, PeerPermissions?]> = [];
    room.link = { publish: (...args) => (published.push(args), true) };
    const a = member(room, 'a');
    room.broadcast('data', '1', 'a', 'local');
    room.remove(a.peer, 'left', 'local');
    expect(published).toEqual([['peer.joined', JSON.stringify({ peer: a.peer.info() }), 'a', { signal: true, data: true, update: true }]]);
  });

  it("keeps byUser pointing at the user's current peer, and removes only a member", () => {
    const room = newRoom();
    const old = member(room, 'p1', 'alice');
    const current = member(room, 'p2', 'alice');
    expect(room.byUser.get('alice')).toBe(current.peer);
    expect(room.remove(old.peer, 'replaced')).toBe(true);
    expect(room.byUser.get('alice')).toBe(current.peer);
    expect(room.remove(old.peer, 'replaced')).toBe(false);
    expect(current.sink.events.at(-1)).toEqual({ type: 'peer.left', data: { peerId: 'p1', reason: 'replaced' } });
    expect(current.sink.types().filter((t) => t === 'peer.left')).toHaveLength(1);
    expect([room.size, room.localSize]).toEqual([1, 1]);
  });

  it('does not relocate a peer that is not its member', () => {
    const room = newRoom();
    const stranger = new Peer('p9', 'u9', room, new RecordingSink(), 0, undefined, {});
    const sink = new RecordingSink();
    room.relocate(stranger, sink);
    expect(stranger.sink).not.toBe(sink);
  });

  it('describes itself as RoomInfo', () => {
    expect(newRoom().info()).toEqual({ id: 'r', metadata: { m: 1 }, maxPeers: 10, createdAt: 0 });
  });
});

describe('Peer', () => {
  it('acks a relay kept for a reconnecting peer as queued', () => {
    const room = newRoom();
    const { peer, sink } = member(room, 'a');
    sink.delivery = 'queued';
    expect(peer.relay('signal', '{"s":1}')).toEqual({ queued: true });
    expect(sink.events).toEqual([{ type: 'signal', data: { s: 1 } }]);
  });

  it('leaves name out of its info until it has one, and re-serialises only on update', () => {
    const room = newRoom();
    const { peer } = member(room, 'a', 'alice');
    expect(peer.info()).toEqual({ id: 'a', userId: 'alice', metadata: {}, joinedAt: 5 });
    const before = peer.infoJson();
    expect(peer.infoJson()).toBe(before);
    peer.update({ name: 'Alice' });
    expect(JSON.parse(peer.infoJson())).toEqual({ id: 'a', userId: 'alice', metadata: {}, joinedAt: 5, name: 'Alice' });
    peer.update({ metadata: { k: 'v' } });
    expect(peer.info()).toMatchObject({ name: 'Alice', metadata: { k: 'v' } });
  });

  it('keeps its own copy of the permissions it was given', () => {
    const room = newRoom();
    const given = { signal: false, data: true, update: true };
    const peer = new Peer('a', 'u', room, new RecordingSink(), 0, undefined, {}, given);
    given.signal = true;
    expect(peer.permissions.signal).toBe(false);
  });
});
