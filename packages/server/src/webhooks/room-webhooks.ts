import type { Peer } from '../rooms/peer.js';
import type { RoomEvents } from '../rooms/room-events.js';
import type { Webhooks } from './webhooks.js';

function peerData(peer: Peer) {
  return { ...peer.info(), permissions: peer.permissions };
}

/**
 * Turns the rooms' domain events into webhook events. The rooms know nothing of webhooks: this
 * subscribes to them. Returns the function that unsubscribes.
 */
export function publishRoomEvents(events: RoomEvents, webhooks: Pick<Webhooks, 'publish'>): () => void {
  const off = [
    events.on('room.started', ({ room }) => webhooks.publish('room.started', room.id, { room: room.info() })),
    events.on('room.finished', ({ room, reason }) => webhooks.publish('room.finished', room.id, { room: room.info(), reason })),
    events.on('peer.joined', ({ room, peer }) => webhooks.publish('peer.joined', room.id, { peer: peerData(peer) })),
    events.on('peer.left', ({ room, peer, reason }) => webhooks.publish('peer.left', room.id, { peer: peerData(peer), reason })),
    events.on('peer.updated', ({ room, peer }) => webhooks.publish('peer.updated', room.id, { peer: peerData(peer) })),
  ];
  return () => off.forEach((unsubscribe) => unsubscribe());
}
