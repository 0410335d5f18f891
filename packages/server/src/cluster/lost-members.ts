import { Room } from '../rooms/room.js';
import type { RemoteSink } from '../rooms/peer-sink.js';
import type { Rooms } from '../rooms/rooms.js';
import type { NodeId } from './bus.js';
import type { ClusterDirectory, MemberRecord } from './directory.js';
import { mirrorOf } from './mirrors.js';

/**
 * This node was the first to clean up after a lost node (`removeNode` gives its members to one
 * caller only): observers — the webhooks — hear `peer.left` (`node_lost`) for each of them, and
 * `room.finished` (`node_lost`) for a room they left empty that no node holds any more.
 */
export async function reportLost(
  members: MemberRecord[],
  { directory, rooms, sinkOf }: { directory: ClusterDirectory; rooms: Rooms; sinkOf: (node: NodeId) => RemoteSink },
): Promise<void> {
  const byRoom = new Map<string, MemberRecord[]>();
  for (const m of members) {
    byRoom.set(m.roomId, [...(byRoom.get(m.roomId) ?? []), m]);
  }
  for (const [roomId, lost] of byRoom) {
    const record = await directory.getRoom(roomId).catch(() => undefined);
    const local = rooms.get(roomId);
    const room = local ?? new Room(roomId, record?.createdAt ?? 0, { maxPeers: record?.maxPeers ?? 0, emptyTimeoutMs: 0, metadata: record?.metadata ?? {} });
    for (const m of lost) {
      if (m.info) {
        rooms.events.emit('peer.left', { room, peer: mirrorOf(m.info, sinkOf(m.nodeId), room, m.permissions), reason: 'node_lost' });
      }
    }
    // A room this node holds ends by its own empty timer; one nobody holds would never end.
    if (!local && record?.memberCount === 0 && (await directory.deleteRoom(roomId, { onlyIfEmpty: true })).deleted) {
      rooms.finish(room, 'node_lost');
    }
  }
}
