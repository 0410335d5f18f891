import Type, { type Static, type TSchema } from 'typebox';
import { DisplayName, EmptyObject, IceServer, Metadata, PeerId, PeerInfo, ResumeCredentials, RoomId, RoomInfo } from './common.js';

const strict = { additionalProperties: false } as const;

/** `room.join`: enter a room, creating it first when the token allows and it does not exist. */
export const RoomJoin = {
  data: Type.Object(
    {
      room: RoomId,
      name: Type.Optional(DisplayName),
      metadata: Type.Optional(Metadata),
      /** Applied only when this join creates the room. */
      create: Type.Optional(
        Type.Object(
          {
            maxPeers: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
            emptyTimeoutMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400_000 })),
            metadata: Type.Optional(Metadata),
          },
          strict,
        ),
      ),
    },
    strict,
  ),
  result: Type.Object({
    peer: PeerInfo,
    room: RoomInfo,
    /** The other peers already in the room. */
    peers: Type.Array(PeerInfo),
    iceServers: Type.Array(IceServer),
  }),
};

/** `room.leave`: leave the current room; the connection stays open. */
export const RoomLeave = { data: EmptyObject, result: EmptyObject };

/**
 * `signal.send`: relay an opaque signal (`{description}`, `{candidate}`, …) to one peer.
 * Acknowledged only once the signal has been handed to the recipient's connection.
 */
export const SignalSend = {
  data: Type.Object({ to: PeerId, signal: Type.Unknown() }, strict),
  result: Type.Object({
    /** The recipient is reconnecting: the signal is kept for it and delivered when it resumes. */
    queued: Type.Optional(Type.Literal(true)),
  }),
};

/** `data.send`: application data to one peer (`to`) or to everyone else in the room. */
export const DataSend = {
  data: Type.Object({ to: Type.Optional(PeerId), payload: Type.Unknown() }, strict),
  result: Type.Object({
    recipients: Type.Integer(),
    /** To one peer that is reconnecting: kept for it and delivered when it resumes. */
    queued: Type.Optional(Type.Literal(true)),
  }),
};

/** `peer.update`: change this peer's name or metadata; the others get `peer.updated`. */
export const PeerUpdate = {
  data: Type.Object({ name: Type.Optional(DisplayName), metadata: Type.Optional(Metadata) }, strict),
  result: Type.Object({ peer: PeerInfo }),
};

/** `ping`: an application-level round trip, answered with the server's clock. */
export const Ping = {
  data: EmptyObject,
  result: Type.Object({ serverTime: Type.Number() }),
};

/**
 * `session.resume`: the first request on a new connection after one dropped. The connection takes
 * over the session named in the old connection's `session.ready` (same user, same peer, same
 * rooms); the answer is followed by every event after `lastSeq`, with their original `seq`, and
 * then live events.
 */
export const SessionResume = {
  data: Type.Object(
    {
      session: Type.String({ minLength: 1, maxLength: 64 }),
      secret: Type.String({ minLength: 1, maxLength: 128 }),
      /** The `seq` of the last event the client processed (0 for none). */
      lastSeq: Type.Integer({ minimum: 0 }),
    },
    strict,
  ),
  result: Type.Object({
    /** How many events follow this answer as the replay. */
    replayed: Type.Integer(),
    /** The session's peer and room, when it is in one. */
    peer: Type.Optional(PeerInfo),
    room: Type.Optional(RoomInfo),
    /**
     * Present when the session moved to the node that answered (it was resumed on another node
     * than the one holding it): the credentials of the next resume, replacing those of
     * `session.ready`.
     */
    resume: Type.Optional(ResumeCredentials),
  }),
};

/** `session.ack`: the client has processed every event up to `seq`; the server may forget them. */
export const SessionAck = {
  data: Type.Object({ seq: Type.Integer({ minimum: 0 }) }, strict),
  result: EmptyObject,
};

/** Every request type, keyed by its wire name. */
export const REQUESTS = {
  'room.join': RoomJoin,
  'room.leave': RoomLeave,
  'signal.send': SignalSend,
  'data.send': DataSend,
  'peer.update': PeerUpdate,
  ping: Ping,
  'session.resume': SessionResume,
  'session.ack': SessionAck,
} as const satisfies Record<string, { data: TSchema; result: TSchema }>;

export type RequestType = keyof typeof REQUESTS;
export type RequestData<T extends RequestType> = Static<(typeof REQUESTS)[T]['data']>;
export type RequestResult<T extends RequestType> = Static<(typeof REQUESTS)[T]['result']>;
export const REQUEST_TYPES = Object.keys(REQUESTS) as RequestType[];

export function isRequestType(value: string): value is RequestType {
  return Object.hasOwn(REQUESTS, value);
}
