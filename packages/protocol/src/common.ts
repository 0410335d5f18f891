import Type, { type Static } from 'typebox';

/** Room ids are chosen by clients or the business backend: short, URL-safe. */
export const RoomId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:@-]+$' });
/** Peer ids are minted by the server; clients only echo them back. */
export const PeerId = Type.String({ minLength: 1, maxLength: 64 });
export const DisplayName = Type.String({ minLength: 1, maxLength: 128 });
/** Free-form JSON object owned by the application (peer or room metadata). */
export const Metadata = Type.Record(Type.String(), Type.Unknown());

export const PeerInfo = Type.Object({
  id: PeerId,
  userId: Type.String(),
  name: Type.Optional(Type.String()),
  metadata: Metadata,
  /** Milliseconds since the Unix epoch. */
  joinedAt: Type.Number(),
});
export type PeerInfo = Static<typeof PeerInfo>;

export const RoomInfo = Type.Object({
  id: RoomId,
  metadata: Metadata,
  maxPeers: Type.Integer(),
  createdAt: Type.Number(),
});
export type RoomInfo = Static<typeof RoomInfo>;

/** The shape of `RTCIceServer`, handed to `new RTCPeerConnection({ iceServers })` unchanged. */
export const IceServer = Type.Object({
  urls: Type.Union([Type.String(), Type.Array(Type.String())]),
  username: Type.Optional(Type.String()),
  credential: Type.Optional(Type.String()),
});
export type IceServer = Static<typeof IceServer>;

/** Why a peer left a room, as told to the others in `peer.left`. */
export const LeaveReason = Type.Union([
  Type.Literal('left'),
  Type.Literal('disconnected'),
  Type.Literal('timeout'),
  Type.Literal('replaced'),
  Type.Literal('kicked'),
  Type.Literal('slow_consumer'),
  Type.Literal('room_closed'),
  Type.Literal('node_lost'),
  /** Its connection dropped and it did not resume within the resume window. */
  Type.Literal('resume_expired'),
  /** Its connection dropped and more was sent to it than its resume buffer holds. */
  Type.Literal('resume_overflow'),
]);
export type LeaveReason = Static<typeof LeaveReason>;

export const EmptyObject = Type.Object({}, { additionalProperties: false });

/** How to resume a session on a new connection after its connection drops (`session.resume`). */
export const ResumeCredentials = Type.Object({
  session: Type.String(),
  secret: Type.String(),
  /** How long the session outlives a dropped connection, in milliseconds. */
  windowMs: Type.Integer(),
});
export type ResumeCredentials = Static<typeof ResumeCredentials>;
