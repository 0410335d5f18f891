import { DisplayName, Metadata, PeerId, PeerInfo, RoomId } from '@heliograph/protocol';
import Type, { type Static } from 'typebox';
import { PeerPermissions, PeerPermissionsPatch } from '../rooms/peer-permissions.js';
import type { Peer } from '../rooms/room.js';
import type { RoomSummary } from '../rooms/room-catalog.js';
import type { Room } from '../rooms/room.js';

const strict = { additionalProperties: false } as const;

/** The REST error body, the same for every route. */
export const ErrorResponse = Type.Object({
  error: Type.Object({
    code: Type.String({ description: 'A stable code from docs/protocol.md (UNAUTHORIZED, ROOM_NOT_FOUND, …)' }),
    message: Type.String(),
    issues: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  }),
});

/** The error responses every authenticated route may give. */
export const ERROR_RESPONSES = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
} as const;

export const RoomResource = Type.Object({
  id: RoomId,
  metadata: Metadata,
  maxPeers: Type.Integer(),
  emptyTimeoutMs: Type.Integer(),
  /** Milliseconds since the epoch. */
  createdAt: Type.Number(),
  peers: Type.Integer({ description: 'How many peers are in the room now' }),
});
export type RoomResource = Static<typeof RoomResource>;

export const PeerResource = Type.Intersect([PeerInfo, Type.Object({ permissions: PeerPermissions })]);
export type PeerResource = Static<typeof PeerResource>;

export const RoomParams = Type.Object({ roomId: RoomId }, strict);
export const PeerParams = Type.Object({ roomId: RoomId, peerId: PeerId }, strict);

export const Paging = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 256, description: 'The `nextCursor` of the previous page' })),
  },
  strict,
);

export const CreateRoomBody = Type.Object(
  {
    id: RoomId,
    maxPeers: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: "At most the node's rooms.maxPeers" })),
    emptyTimeoutMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400_000, description: 'How long the room lives while empty' })),
    metadata: Type.Optional(Metadata),
  },
  strict,
);
export type CreateRoomBody = Static<typeof CreateRoomBody>;

export const UpdateRoomBody = Type.Object({ metadata: Metadata }, strict);
export type UpdateRoomBody = Static<typeof UpdateRoomBody>;

export const CloseRoomQuery = Type.Object({ reason: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })) }, strict);

export const UpdatePeerBody = Type.Object(
  { name: Type.Optional(DisplayName), metadata: Type.Optional(Metadata), permissions: Type.Optional(PeerPermissionsPatch) },
  { ...strict, minProperties: 1 },
);
export type UpdatePeerBody = Static<typeof UpdatePeerBody>;

export const KickBody = Type.Object({ reason: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })) }, strict);

export const SendToRoomBody = Type.Object(
  {
    payload: Type.Unknown({ description: 'Any JSON; peers receive it as a `data` event from `server`' }),
    to: Type.Optional(Type.Array(PeerId, { minItems: 1, maxItems: 1000, description: 'Only these peers; everyone when absent' })),
  },
  strict,
);
export type SendToRoomBody = Static<typeof SendToRoomBody>;

export const SendToPeerBody = Type.Object({ payload: Type.Unknown() }, strict);
export type SendToPeerBody = Static<typeof SendToPeerBody>;

export const Recipients = Type.Object({ recipients: Type.Integer({ description: 'Connections the payload was handed to' }) });

/** A listed room (from this node, or from the cluster's directory). */
export function summaryResource(summary: RoomSummary): RoomResource {
  const { id, metadata, maxPeers, createdAt, emptyTimeoutMs, peers } = summary;
  return { id, metadata, maxPeers, createdAt, emptyTimeoutMs, peers };
}

export function roomResource(room: Room): RoomResource {
  return { ...room.info(), emptyTimeoutMs: room.emptyTimeoutMs, peers: room.size };
}

export function peerResource(peer: Peer): PeerResource {
  return { ...peer.info(), permissions: { ...peer.permissions } };
}
