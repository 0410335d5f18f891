import type { IceServer } from '@heliograph/protocol';
import { AppError } from '../shared/app-error.js';
import type { Rooms } from '../rooms/rooms.js';
import { requirePeer, type Handler } from './handler.js';

export interface RoomHandlerDeps {
  rooms: Rooms;
  /** The ICE servers for a session; a function so that TURN credentials can be minted per connection. */
  iceServers: () => IceServer[];
}

export function roomHandlers({ rooms, iceServers }: RoomHandlerDeps) {
  const join: Handler<'room.join'> = (session, data) => {
    if (session.peer) {
      throw new AppError('ALREADY_IN_ROOM', `Already in room "${session.peer.room.id}"`);
    }
    const { peer, room, others } = rooms.join({
      identity: session.identity,
      roomId: data.room,
      name: data.name,
      metadata: data.metadata,
      create: data.create,
      sink: session.sink,
    });
    session.peer = peer;
    return { peer: peer.info(), room: room.info(), peers: others, iceServers: iceServers() };
  };

  const leave: Handler<'room.leave'> = (session) => {
    const peer = requirePeer(session);
    session.peer = undefined;
    rooms.leave(peer, 'left');
    return {};
  };

  return { 'room.join': join, 'room.leave': leave };
}
