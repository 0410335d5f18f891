import type { LeaveReason, PeerInfo } from '@heliograph/protocol';
import { Peer, REMOTE_SINK } from '../rooms/peer.js';
import type { PeerPermissions } from '../rooms/peer-permissions.js';
import type { Room } from '../rooms/room.js';
import type { Rooms } from '../rooms/rooms.js';
import type { NodeId } from './bus.js';
import type { RoomChannelMessage } from './messages.js';

/** This node's stand-in for a member on another node: reached through that node, never directly. */
export function mirrorOf(info: PeerInfo, nodeId: NodeId, room: Room, permissions: PeerPermissions | undefined): Peer {
  return new Peer(info.id, info.userId, room, REMOTE_SINK, info.joinedAt, info.name, info.metadata, permissions, nodeId);
}

// The event payloads below were serialised by another node's `Room` from values the protocol
// layer had already validated; they are read back with the shapes that code writes.

/**
 * Applies a room event another node published: membership events update the mirrors (a peer of
 * this node that another node removed — replaced, kicked — is detached here), then this node's
 * peers get the event.
 */
export function applyRoomEvent(
  rooms: Rooms,
  room: Room,
  message: Extract<RoomChannelMessage, { type: 'room.event' }>,
  from: NodeId,
  /** Told of a `peer.left` for a peer this node does not hold (yet): one whose join is under way may be meant. */
  unknownLeft: (peerId: string) => void = () => undefined,
): void {
  const { event, data, except, permissions, skip } = message;
  switch (event) {
    case 'peer.joined': {
      const { peer } = JSON.parse(data) as { peer: PeerInfo };
      if (!room.peers.has(peer.id)) {
        room.add(mirrorOf(peer, from, room, permissions), 'local');
      }
      return;
    }
    case 'peer.left': {
      const { peerId, reason } = JSON.parse(data) as { peerId: string; reason: LeaveReason };
      const peer = room.peers.get(peerId);
      if (peer) {
        rooms.detach(peer, reason, undefined, 'local');
      } else {
        unknownLeft(peerId);
      }
      return;
    }
    case 'peer.updated': {
      const { peer } = JSON.parse(data) as { peer: PeerInfo };
      const known = room.peers.get(peer.id);
      known?.update({ name: peer.name, metadata: peer.metadata });
      if (known && permissions) {
        known.permissions = { ...permissions };
      }
      break;
    }
    case 'room.updated':
      room.metadata = (JSON.parse(data) as { room: { metadata: Record<string, unknown> } }).room.metadata;
      break;
  }
  if (!skip) {
    room.broadcast(event, data, except, 'local');
    return;
  }
  // A peer arriving on the publisher by a hand-over already has it from there.
  for (const peer of room.peers.values()) {
    if (peer.node === undefined && peer.id !== except && !skip.includes(peer.id)) {
      peer.sink.sendEvent(event, data);
    }
  }
}
