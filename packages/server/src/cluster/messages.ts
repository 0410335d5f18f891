import type { EventType } from '@heliograph/protocol';
import type { PeerPermissions } from '../rooms/peer-permissions.js';
import type { PeerChanges } from '../rooms/room-catalog.js';

/**
 * What nodes say to each other. Published on a room's channel (`room:<id>`) and heard once by
 * every node with members in that room:
 * - `room.event`: an event of the room, already serialised, for the node's own peers of it; the
 *   membership events (`peer.joined`, `peer.left`, `peer.updated`, `room.updated`) also update the
 *   node's mirror of the room's remote members;
 * - `room.close`: the room was closed (control API); every node detaches its peers.
 */
export type RoomChannelMessage =
  | { type: 'room.event'; event: EventType; data: string; except?: string | undefined; permissions?: PeerPermissions | undefined }
  | { type: 'room.close'; reason: string };

/**
 * Requests to one node, answered once it has done them:
 * - `peer.deliver`: hand `signal` or `data` to a peer of that node; `{}` once handed to its
 *   connection, else PEER_NOT_FOUND or PEER_OVERLOADED (the sender's ack means exactly that);
 * - `peer.kick`, `peer.update`: the control API, reached on another node, acts on a peer of this one.
 */
export type NodeRequest =
  | { type: 'peer.deliver'; room: string; to: string; event: 'signal' | 'data'; data: string }
  | { type: 'peer.kick'; room: string; peerId: string; reason: string }
  | { type: 'peer.update'; room: string; peerId: string; changes: PeerChanges };

/** Every message of the bus, as one union (the Pixel Streaming dialect adds its own). */
export type NodeMessage = RoomChannelMessage | NodeRequest | PsNodeMessage;

/** Pixel Streaming messages between nodes (see `pixel-streaming/cluster-*.ts`). */
export type PsNodeMessage = { type: 'ps.noop' };
