import { roomPermissions, type IceServer, type RequestData, type RequestResult } from '@heliograph/protocol';
import type { RoomServiceReply, RoomServiceRequest } from '../room-service/room-service-client.js';
import type { PeerPermissions } from '../rooms/peer-permissions.js';
import { ALL_PERMISSIONS, withPermissions } from '../rooms/peer-permissions.js';
import { AppError } from '../shared/app-error.js';
import type { JoinRequest, JoinResult, Rooms } from '../rooms/rooms.js';
import type { RoomMembership } from '../rooms/room-membership.js';
import { requirePeer, type Handler, type Session } from './handler.js';

/** The room service as the join handler sees it: one question, one answer (or UNAVAILABLE). */
export interface RoomServiceGate {
  check(request: RoomServiceRequest): Promise<RoomServiceReply>;
}

export interface RoomHandlerDeps {
  rooms: Rooms;
  /** Who decides a join: this node, or in a cluster the directory (asynchronously). */
  membership: RoomMembership;
  /** The ICE servers for a user's session; a function so that TURN credentials are minted per connection. */
  iceServers: (userId: string) => IceServer[];
  /** When set, every join (and every room creation by a join) is asked of the business room service first. */
  roomService?: RoomServiceGate | undefined;
}

/** What the room service added to a join. */
interface Admission {
  permissions: PeerPermissions;
  peerMetadata?: Record<string, unknown> | undefined;
  roomMetadata?: Record<string, unknown> | undefined;
  /** Whether the room service was asked about creating the room. */
  createAsked: boolean;
}

/** Asks the room service about this join (and the room's creation when the join would create it). */
async function admit(session: Session, data: RequestData<'room.join'>, gate: RoomServiceGate, creates: boolean): Promise<Admission> {
  const user = { id: session.identity.userId, name: data.name ?? session.identity.name };
  const [created, joined] = await Promise.all([
    creates ? gate.check({ action: 'room.create', user, room: data.room, metadata: data.create?.metadata ?? {} }) : undefined,
    gate.check({ action: 'room.join', user, room: data.room, metadata: data.metadata ?? {} }),
  ]);
  if (created && !created.allow) {
    throw new AppError('FORBIDDEN', created.reason ?? `The room service refused to create room "${data.room}"`);
  }
  if (!joined.allow) {
    throw new AppError('FORBIDDEN', joined.reason ?? `The room service refused entry to room "${data.room}"`);
  }
  return {
    permissions: withPermissions(ALL_PERMISSIONS, joined.permissions),
    peerMetadata: joined.metadata,
    roomMetadata: created?.metadata,
    createAsked: creates,
  };
}

export function roomHandlers({ rooms, membership, iceServers, roomService }: RoomHandlerDeps) {
  /** Connections with a `room.join` waiting for the room service. */
  const pending = new WeakSet<Session>();

  const joined = (session: Session, { peer, room, others }: JoinResult): RequestResult<'room.join'> => {
    session.peer = peer;
    return { peer: peer.info(), room: room.info(), peers: others, iceServers: iceServers(session.identity.userId) };
  };

  const commit = (
    session: Session,
    data: RequestData<'room.join'>,
    admission?: Admission,
  ): RequestResult<'room.join'> | Promise<RequestResult<'room.join'>> => {
    const metadata = admission?.peerMetadata ? { ...data.metadata, ...admission.peerMetadata } : data.metadata;
    const create = admission?.roomMetadata ? { ...data.create, metadata: { ...data.create?.metadata, ...admission.roomMetadata } } : data.create;
    const request: JoinRequest = {
      identity: session.identity,
      roomId: data.room,
      name: data.name,
      metadata,
      create,
      sink: session.sink,
      permissions: admission?.permissions,
      createAllowed: admission ? admission.createAsked : undefined,
    };
    const result = membership.join(request, () => session.closing === true);
    return result instanceof Promise ? result.then((done) => joined(session, done)) : joined(session, result);
  };

  const join: Handler<'room.join'> = (session, data) => {
    if (session.peer) {
      throw new AppError('ALREADY_IN_ROOM', `Already in room "${session.peer.room.id}"`);
    }
    if (pending.has(session)) {
      throw new AppError('CONFLICT', 'A room.join is already in progress on this connection');
    }
    if (!roomService) {
      const result = commit(session, data);
      if (!(result instanceof Promise)) {
        return result;
      }
      pending.add(session);
      return result.finally(() => pending.delete(session));
    }
    // What the token cannot do is refused here, without bothering the room service.
    const may = roomPermissions(session.identity.grants, data.room);
    if (!may.join) {
      throw new AppError('FORBIDDEN', `The token does not grant joining room "${data.room}"`);
    }
    pending.add(session);
    return Promise.resolve(membership.exists(data.room))
      .then((exists) => {
        if (!exists && !may.create) {
          throw new AppError('ROOM_NOT_FOUND', `Room "${data.room}" does not exist`);
        }
        return admit(session, data, roomService, !exists);
      })
      .then((admission) => {
        if (session.closing) {
          // The answer came after the client went away: admit no ghost.
          throw new AppError('UNAVAILABLE', 'The connection closed while the room service was asked');
        }
        return commit(session, data, admission);
      })
      .finally(() => pending.delete(session));
  };

  const leave: Handler<'room.leave'> = (session) => {
    const peer = requirePeer(session);
    session.peer = undefined;
    rooms.leave(peer, 'left');
    return {};
  };

  return { 'room.join': join, 'room.leave': leave };
}
