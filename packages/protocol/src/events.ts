import Type, { type Static, type TSchema } from 'typebox';
import { EmptyObject, LeaveReason, PeerId, PeerInfo } from './common.js';

/** Every event type the server pushes, keyed by its wire name, with the schema of its `data`. */
export const EVENTS = {
  /** The first event on every connection: the token was accepted; requests may follow. */
  'session.ready': Type.Object({
    userId: Type.String(),
    name: Type.Optional(Type.String()),
    /** The protocol version the server speaks. */
    protocol: Type.Integer(),
    serverTime: Type.Number(),
  }),
  /** Another peer entered the room. */
  'peer.joined': Type.Object({ peer: PeerInfo }),
  /** Another peer left the room, and why. */
  'peer.left': Type.Object({ peerId: PeerId, reason: LeaveReason }),
  /** Another peer changed its name or metadata. */
  'peer.updated': Type.Object({ peer: PeerInfo }),
  /** A signal relayed from `from`, byte-for-byte as it was sent. */
  signal: Type.Object({ from: PeerId, signal: Type.Unknown() }),
  /** Application data from `from`. */
  data: Type.Object({ from: PeerId, payload: Type.Unknown() }),
  /** The room ended; this connection is no longer in it. */
  'room.closed': Type.Object({ reason: Type.String() }),
  /** The same user joined the same room elsewhere; this connection closes next with 4409. */
  'session.replaced': EmptyObject,
} as const satisfies Record<string, TSchema>;

export type EventType = keyof typeof EVENTS;
export type EventData<T extends EventType> = Static<(typeof EVENTS)[T]>;
export const EVENT_TYPES = Object.keys(EVENTS) as EventType[];
