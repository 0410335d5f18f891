import Type, { type Static, type TSchema } from 'typebox';
import { EmptyObject, IceServer, LeaveReason, PeerId, PeerInfo, ResumeCredentials, RoomInfo } from './common.js';

/** Every event type the server pushes, keyed by its wire name, with the schema of its `data`. */
export const EVENTS = {
  /** The first event on every connection: the token was accepted; requests may follow. */
  'session.ready': Type.Object({
    userId: Type.String(),
    name: Type.Optional(Type.String()),
    /** The protocol version the server speaks. */
    protocol: Type.Integer(),
    serverTime: Type.Number(),
    /**
     * How to resume this session on a new connection after this one drops (`session.resume`).
     * Absent when the server has resume turned off. The secret is a credential: keep it in memory.
     */
    resume: Type.Optional(ResumeCredentials),
  }),
  /** Another peer's connection dropped; it stays in the room while it may resume. */
  'peer.reconnecting': Type.Object({ peerId: PeerId }),
  /** A reconnecting peer resumed its session; nothing it was sent meanwhile was lost. */
  'peer.reconnected': Type.Object({ peerId: PeerId }),
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
  /**
   * The node is shutting down (a deploy or a restart). Reconnect, after a random delay of up to
   * `reconnectWithinMs`, so that a load balancer sends you to another node; at `deadline` the node
   * closes what is left with 1001.
   */
  'server.draining': Type.Object({
    reason: Type.String(),
    /** Milliseconds since the epoch. */
    deadline: Type.Number(),
    reconnectWithinMs: Type.Integer(),
  }),
  /** The same user joined the same room elsewhere; this connection closes next with 4409. */
  'session.replaced': EmptyObject,
  /** The business backend changed the room's metadata (control API). */
  'room.updated': Type.Object({ room: RoomInfo }),
  /** The business backend removed this peer from the room (control API); the connection stays open. */
  'room.kicked': Type.Object({ reason: Type.String() }),
  /**
   * Fresh ICE servers (new TURN credentials) for a long-lived connection, sent before the ones
   * given on join expire. Use them for new peer connections and ICE restarts.
   */
  'ice.servers': Type.Object({
    iceServers: Type.Array(IceServer),
    /** When the TURN credentials in `iceServers` expire, in milliseconds since the epoch. */
    expiresAt: Type.Number(),
  }),
} as const satisfies Record<string, TSchema>;

export type EventType = keyof typeof EVENTS;
export type EventData<T extends EventType> = Static<(typeof EVENTS)[T]>;
export const EVENT_TYPES = Object.keys(EVENTS) as EventType[];
