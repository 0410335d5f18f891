import type { Peer } from '../rooms/room.js';
import type { Room } from '../rooms/room.js';
import type { RoomCatalog } from '../rooms/room-catalog.js';
import { AppError } from '../shared/app-error.js';

/** The room (in a cluster: opened on this node from the directory), or ROOM_NOT_FOUND. */
export function findRoom(catalog: RoomCatalog, roomId: string): Promise<Room> {
  return catalog.find(roomId);
}

/** The peer of the room (on any node), or ROOM_NOT_FOUND / PEER_NOT_FOUND. */
export async function findPeer(catalog: RoomCatalog, roomId: string, peerId: string): Promise<Peer> {
  const peer = (await findRoom(catalog, roomId)).peers.get(peerId);
  if (!peer) {
    throw new AppError('PEER_NOT_FOUND', `No peer "${peerId}" in room "${roomId}"`);
  }
  return peer;
}

/** The `data` event of a payload sent by the business backend: `from` is `server`, never a peer id. */
export function serverDataJson(payload: unknown): string {
  return `{"from":"server","payload":${JSON.stringify(payload ?? null)}}`;
}
