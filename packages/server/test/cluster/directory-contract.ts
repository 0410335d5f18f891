import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterDirectory, MemberRecord } from '../../src/cluster/directory.js';
import type { ClusterHarness } from './harness.js';

const member = (peerId: string, userId: string, nodeId = 'A', roomId = 'r1'): MemberRecord => ({ roomId, peerId, userId, nodeId });
const byPeer = (ms: MemberRecord[]): MemberRecord[] => [...ms].sort((x, y) => x.peerId.localeCompare(y.peerId));

/** What every ClusterDirectory must do; two instances stand for two nodes sharing one store. */
export function directoryContract(name: string, make: () => Promise<ClusterHarness>): void {
  describe(`ClusterDirectory contract: ${name}`, () => {
    let h: ClusterHarness;
    let d1: ClusterDirectory;
    let d2: ClusterDirectory;
    beforeEach(async () => {
      h = await make();
      [d1, d2] = [await h.directory(), await h.directory()];
    });
    afterEach(async () => {
      await h.close();
    });

    it('creates a room once, and reads, lists and updates it', async () => {
      const spec = { roomId: 'r1', maxPeers: 3, metadata: { topic: 'x' } };
      expect(await d1.createRoom(spec, 1000)).toEqual({ created: true, room: { ...spec, createdAt: 1000, memberCount: 0 } });
      expect(await d2.createRoom({ ...spec, maxPeers: 9 }, 2000)).toEqual({ created: false, room: { ...spec, createdAt: 1000, memberCount: 0 } });
      expect(await d2.getRoom('r1')).toEqual({ ...spec, createdAt: 1000, memberCount: 0 });
      expect(await d2.getRoom('nope')).toBeUndefined();
      expect(await d1.listRooms()).toEqual(['r1']);
      // The creator's lifetime for the room is kept for every node.
      const lived = { roomId: 'r0', maxPeers: 2, metadata: {}, emptyTimeoutMs: 1234 };
      await d1.createRoom(lived, 5);
      expect(await d2.getRoom('r0')).toStrictEqual({ ...lived, createdAt: 5, memberCount: 0 });
      await d1.deleteRoom('r0');
      await d1.addMember(member('p1', 'u1'));
      await d1.addMember(member('p2', 'u2'));
      expect(await d2.updateRoom('r1', { metadata: { topic: 'y' } })).toMatchObject({ metadata: { topic: 'y' }, maxPeers: 3, memberCount: 2 });
      // The limit never drops below the members already in.
      expect(await d2.updateRoom('r1', { maxPeers: 1 })).toMatchObject({ maxPeers: 2 });
      await expect(d2.updateRoom('nope', { maxPeers: 1 })).rejects.toMatchObject({ code: 'ROOM_NOT_FOUND' });
    });

    it('adds members up to the limit, one session per user, and tracks each peer’s node', async () => {
      await expect(d1.addMember(member('p0', 'u0'))).rejects.toMatchObject({ code: 'ROOM_NOT_FOUND' });
      await d1.createRoom({ roomId: 'r1', maxPeers: 2, metadata: {} }, 0);
      expect(await d1.addMember(member('p1', 'u1', 'A'))).toEqual({});
      expect(await d2.addMember(member('p2', 'u2', 'B'))).toEqual({});
      expect(await d1.addMember(member('p2', 'u2', 'B'))).toEqual({}); // again: a no-op
      await expect(d2.addMember(member('p3', 'u3', 'B'))).rejects.toMatchObject({ code: 'ROOM_FULL' });
      // The same user from another node replaces the old session, even in a full room.
      expect(await d2.addMember(member('p4', 'u1', 'B'))).toEqual({ replaced: member('p1', 'u1', 'A') });
      expect(byPeer(await d1.members('r1'))).toEqual([member('p2', 'u2', 'B'), member('p4', 'u1', 'B')]);
      expect(await d1.getRoom('r1')).toMatchObject({ memberCount: 2 });
      expect(await d1.locatePeer('p4')).toEqual(member('p4', 'u1', 'B'));
      expect(await d1.locatePeer('p1')).toBeUndefined();
      expect(await d1.removeMember('p2')).toEqual(member('p2', 'u2', 'B'));
      expect(await d1.removeMember('p2')).toBeUndefined();
      expect(await d2.addMember(member('p5', 'u5', 'A'))).toEqual({});
    });

    it('holds the limit under concurrent joins from two nodes', async () => {
      await d1.createRoom({ roomId: 'r1', maxPeers: 5, metadata: {} }, 0);
      const joins = Array.from({ length: 30 }, (_, i) => (i % 2 ? d1 : d2).addMember(member(`p${i}`, `u${i}`, i % 2 ? 'A' : 'B')));
      const results = await Promise.allSettled(joins);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(refused.map((r) => (r.reason as { code: string }).code)).toEqual(Array(25).fill('ROOM_FULL'));
      expect(await d1.getRoom('r1')).toMatchObject({ memberCount: 5 });
    });

    it('removes a lost node’s members once, and deletes rooms (only empty ones when asked)', async () => {
      await d1.createRoom({ roomId: 'r1', maxPeers: 9, metadata: {} }, 0);
      await d1.createRoom({ roomId: 'r2', maxPeers: 9, metadata: {} }, 0);
      await d1.addMember(member('a1', 'u1', 'A'));
      await d2.addMember(member('b1', 'u2', 'B'));
      await d2.addMember(member('b2', 'u3', 'B', 'r2'));
      // Every survivor cleans up at once; exactly one of them gets the members (and reports them).
      const [first, second] = await Promise.all([d1.removeNode('B'), d2.removeNode('B')]);
      expect(byPeer([...first, ...second])).toEqual([member('b1', 'u2', 'B'), member('b2', 'u3', 'B', 'r2')]);
      expect(first.length === 0 || second.length === 0).toBe(true);
      expect(await d2.removeNode('B')).toEqual([]);
      expect(await d1.members('r1')).toEqual([member('a1', 'u1', 'A')]);
      expect(await d1.locatePeer('b2')).toBeUndefined();
      expect(await d2.deleteRoom('r1', { onlyIfEmpty: true })).toEqual({ deleted: false, members: [] });
      expect(await d2.deleteRoom('r2', { onlyIfEmpty: true })).toEqual({ deleted: true, members: [] });
      expect(await d2.deleteRoom('r1')).toEqual({ deleted: true, members: [member('a1', 'u1', 'A')] });
      expect(await d1.deleteRoom('r1')).toEqual({ deleted: false, members: [] });
      expect(await d1.locatePeer('a1')).toBeUndefined();
      expect(await d1.listRooms()).toEqual([]);
      await expect(d1.addMember(member('a2', 'u1', 'A'))).rejects.toMatchObject({ code: 'ROOM_NOT_FOUND' });
    });

    it('de-duplicates claimed names across nodes under each policy, within one space', async () => {
      const s1 = { nodeId: 'A', key: 'S1' };
      const s2 = { nodeId: 'B', key: 'S2' };
      const s3 = { nodeId: 'B', key: 'S3' };
      expect(await d1.claim('ids', 'Game', s1, 'rename')).toEqual({ name: 'Game' });
      expect(await d1.claim('ids', 'Game', s1, 'reject')).toEqual({ name: 'Game' }); // its own name again
      expect(await d2.claim('ids', 'Game', s2, 'rename')).toEqual({ name: 'Game1' });
      expect(await d2.claim('ids', 'Game', s3, 'rename')).toEqual({ name: 'Game2' });
      await expect(d2.claim('ids', 'Game1', s3, 'reject')).rejects.toMatchObject({ code: 'CONFLICT' });
      expect(await d2.claim('ids', 'Game', s3, 'replace')).toEqual({ name: 'Game', replaced: { name: 'Game', ...s1 } });
      expect(await d1.release('ids', 'Game1', s1)).toBe(false);
      expect(await d1.release('ids', 'Game1', s2)).toBe(true);
      const all = (await d1.claims('ids')).sort((x, y) => x.name.localeCompare(y.name));
      expect(all).toEqual([
        { name: 'Game', ...s3 },
        { name: 'Game2', ...s3 },
      ]);
      expect(await d1.claim('ids', 'Game', s2, 'rename')).toEqual({ name: 'Game1' });
      expect(await d1.claim('other', 'Game', s1, 'reject')).toEqual({ name: 'Game' }); // another space
      expect(await d2.claims('other')).toEqual([{ name: 'Game', ...s1 }]);
    });

    it('hands out numbers unique in the cluster', async () => {
      const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? d1 : d2).nextId('player')));
      expect([...ids].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(await d1.nextId('other')).toBe(1);
    });
  });
}
