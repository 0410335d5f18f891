import { describe, expect, it } from 'vitest';
import { identity, RecordingSink, roomsOnFakeTime } from '../test-support/room-fixtures.js';
import { LocalMembership } from './room-membership.js';

const code = (c: string) => expect.objectContaining({ code: c });

describe('LocalMembership', () => {
  it("joins synchronously through the node's rooms and knows which rooms exist", () => {
    const { rooms } = roomsOnFakeTime();
    const membership = new LocalMembership(rooms);
    expect(membership.exists('r')).toBe(false);
    const result = membership.join({ identity: identity('alice'), roomId: 'r', sink: new RecordingSink() });
    expect(result).not.toBeInstanceOf(Promise);
    expect(result.room).toBe(rooms.get('r'));
    expect(membership.exists('r')).toBe(true);
  });
});

describe('LocalRoomCatalog', () => {
  function setup() {
    const { rooms, clock } = roomsOnFakeTime();
    const { catalog } = new LocalMembership(rooms);
    const alice = new RecordingSink();
    const bob = new RecordingSink();
    const a = rooms.join({ identity: identity('alice'), roomId: 'r', sink: alice });
    const b = rooms.join({ identity: identity('bob'), roomId: 'r', sink: bob });
    return { rooms, clock, catalog, a, b, alice, bob };
  }

  it('lists the rooms with their peer count and lifetime', async () => {
    const { catalog, a } = setup();
    await catalog.create('empty', { maxPeers: 2 });
    expect(await catalog.list()).toEqual([
      { ...a.room.info(), peers: 2, emptyTimeoutMs: 1000 },
      { id: 'empty', metadata: {}, maxPeers: 2, createdAt: a.room.createdAt, peers: 0, emptyTimeoutMs: 1000 },
    ]);
  });

  it('finds a room or rejects ROOM_NOT_FOUND, and rejects a second creation with CONFLICT', async () => {
    const { catalog, a } = setup();
    expect(await catalog.find('r')).toBe(a.room);
    await expect(catalog.find('nope')).rejects.toEqual(code('ROOM_NOT_FOUND'));
    await expect(catalog.create('r', {})).rejects.toEqual(code('CONFLICT'));
  });

  it('kicks a peer with the reason', async () => {
    const { catalog, b, alice, bob } = setup();
    await catalog.kick(b.peer, 'bye');
    expect(bob.detachments).toEqual([{ reason: 'kicked', detail: 'bye' }]);
    expect(alice.events.at(-1)).toEqual({ type: 'peer.left', data: { peerId: b.peer.id, reason: 'kicked' } });
  });

  it('updates a peer and tells the peer itself too (the change came from the backend)', async () => {
    const { catalog, a, alice, bob } = setup();
    const permissions = await catalog.updatePeer(a.peer, { name: 'A', permissions: { signal: false } });
    expect(permissions).toEqual({ signal: false, data: true, update: true });
    const expected = { type: 'peer.updated', data: { peer: a.peer.info() } };
    expect([alice.events.at(-1), bob.events.at(-1)]).toEqual([expected, expected]);
  });

  it('sends data to one peer, or rejects with the typed error when its connection could not take it', async () => {
    const { catalog, b, bob } = setup();
    await catalog.sendTo(b.peer, 'data', '{"payload":1}');
    expect(bob.events.at(-1)).toEqual({ type: 'data', data: { payload: 1 } });
    bob.delivery = 'overloaded';
    await expect(catalog.sendTo(b.peer, 'data', '{}')).rejects.toEqual(code('PEER_OVERLOADED'));
    bob.delivery = 'gone';
    await expect(catalog.sendTo(b.peer, 'data', '{}')).rejects.toEqual(code('PEER_NOT_FOUND'));
  });
});
