import type { Peer } from '../rooms/room.js';
import type { RoomEvents } from '../rooms/room-events.js';
import type { OpenRooms } from './open-rooms.js';
import type { Webhooks } from './webhooks.js';

function peerData(peer: Peer) {
  return { ...peer.info(), permissions: peer.permissions };
}

/**
 * Turns the rooms' domain events into webhook events, and keeps `open` (what the backend believes
 * is open) in step. The rooms know nothing of webhooks: this subscribes to them. Returns the
 * function that unsubscribes.
 */
export function publishRoomEvents(events: RoomEvents, webhooks: Pick<Webhooks, 'publish'>, open?: OpenRooms): () => void {
  const off = [
    events.on('room.started', ({ room }) => {
      const data = { room: room.info() };
      webhooks.publish('room.started', room.id, data);
      open?.roomStarted(room.id, data);
    }),
    events.on('room.finished', ({ room, reason }) => {
      webhooks.publish('room.finished', room.id, { room: room.info(), reason });
      open?.roomFinished(room.id);
    }),
    events.on('peer.joined', ({ room, peer }) => {
      const data = peerData(peer);
      webhooks.publish('peer.joined', room.id, { peer: data });
      open?.peerJoined(room.id, peer.id, data);
    }),
    events.on('peer.left', ({ room, peer, reason }) => {
      webhooks.publish('peer.left', room.id, { peer: peerData(peer), reason });
      open?.peerLeft(room.id, peer.id);
    }),
    events.on('peer.updated', ({ room, peer }) => {
      const data = peerData(peer);
      webhooks.publish('peer.updated', room.id, { peer: data });
      open?.peerJoined(room.id, peer.id, data);
    }),
  ];
  return () => off.forEach((unsubscribe) => unsubscribe());
}
