import type { PeerInfo } from '@heliograph/protocol';
import { readEventData } from './event-data.js';
import { Peer, type Room } from '../rooms/room.js';
import { isRemote, type RemoteSink } from '../rooms/peer-sink.js';
import type { NodeId } from './bus.js';
import type { MemberRecord, RoomRecord } from './directory.js';
import type { PeerPermissions } from '../rooms/peer-permissions.js';
import type { Rooms } from '../rooms/rooms.js';
import type { RoomChannelMessage } from './messages.js';

/** The node whose connection holds `peer`; undefined when it is this one. */
export function homeNode(peer: Peer): NodeId | undefined {
  const { sink } = peer;
  return isRemote(sink) ? sink.node : undefined;
}

/** This node's stand-in for a member on another node: reached through that node (`sink`), never directly. */
export function mirrorOf(info: PeerInfo, sink: RemoteSink, room: Room, permissions: PeerPermissions | undefined): Peer {
  return new Peer(info.id, info.userId, room, sink, info.joinedAt, info.name, info.metadata, permissions);
}

/** The directory's record of `peer`, held by node `nodeId`. */
export function memberOf(peer: Peer, nodeId: NodeId): MemberRecord {
  return { roomId: peer.room.id, peerId: peer.id, userId: peer.userId, nodeId, info: peer.info(), permissions: peer.permissions };
}

/** The directory's record of `room` as this node knows it. */
export function roomRecordOf(room: Room): RoomRecord {
  const { id: roomId, maxPeers, metadata, emptyTimeoutMs, createdAt } = room;
  return { roomId, maxPeers, metadata, emptyTimeoutMs, createdAt, memberCount: room.peers.size };
}

/**
 * Applies a room event another node published: membership events update the mirrors (a peer of
 * this node that another node removed — replaced, kicked — is detached here), then this node's
 * peers get the event. The data of a membership event is read with the protocol's compiled
 * schema of that event; one that does not match is dropped, not passed on.
 */
export function applyRoomEvent(
  rooms: Rooms,
  room: Room,
  message: Extract<RoomChannelMessage, { type: 'room.event' }>,
  /** The sink of the publishing node's members. */
  from: RemoteSink,
  /** Told of a `peer.left` for a peer this node does not hold (yet): one whose join is under way may be meant. */
  unknownLeft: (peerId: string) => void,
): void {
  const { event, data, except, permissions, skip } = message;
  switch (event) {
    // A mirror's arrival or departure reaches this node's peers through the room itself.
    case 'peer.joined': {
      const joined = readEventData(event, data);
      if (joined && !room.peers.has(joined.peer.id)) {
        room.add(mirrorOf(joined.peer, from, room, permissions), 'local');
      }
      return;
    }
    case 'peer.left': {
      const left = readEventData(event, data);
      const peer = left && room.peers.get(left.peerId);
      if (peer) {
        rooms.detach(peer, left.reason, undefined, 'local');
      } else if (left) {
        unknownLeft(left.peerId);
      }
      return;
    }
    case 'peer.updated': {
      const updated = readEventData(event, data);
      if (!updated) {
        return;
      }
      const known = room.peers.get(updated.peer.id);
      known?.update({ name: updated.peer.name, metadata: updated.peer.metadata });
      if (known && permissions) {
        known.permissions = { ...permissions };
      }
      break;
    }
    case 'room.updated': {
      const changed = readEventData(event, data);
      if (!changed) {
        return;
      }
      room.metadata = changed.room.metadata;
      break;
    }
  }
  if (!skip) {
    room.broadcast(event, data, except, 'local');
    return;
  }
  // A peer arriving on the publisher by a hand-over already has it from there.
  for (const peer of room.peers.values()) {
    if (peer.id !== except && !skip.includes(peer.id)) {
      peer.sink.sendEvent(event, data);
    }
  }
}
