import type { Peer } from '../rooms/peer.js';
import type { Room } from '../rooms/room.js';
import type { Rooms } from '../rooms/rooms.js';
import { AppError } from '../shared/app-error.js';

/** The room, or ROOM_NOT_FOUND. */
export function findRoom(rooms: Rooms, roomId: string): Room {
  const room = rooms.get(roomId);
  if (!room) {
    throw new AppError('ROOM_NOT_FOUND', `No room "${roomId}"`);
  }
  return room;
}

/** The peer of the room, or ROOM_NOT_FOUND / PEER_NOT_FOUND. */
export function findPeer(rooms: Rooms, roomId: string, peerId: string): Peer {
  const peer = findRoom(rooms, roomId).peers.get(peerId);
  if (!peer) {
    throw new AppError('PEER_NOT_FOUND', `No peer "${peerId}" in room "${roomId}"`);
  }
  return peer;
}

/** The `data` event of a payload sent by the business backend: `from` is `server`, never a peer id. */
export function serverDataJson(payload: unknown): string {
  return `{"from":"server","payload":${JSON.stringify(payload ?? null)}}`;
}
