import { roomPermissions } from '@heliograph/protocol';
import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import type { TokenVerifier } from '../auth/token-verifier.js';
import type { RoomCatalog } from '../rooms/room-catalog.js';
import { AppError } from '../shared/app-error.js';

export const LobbyRooms = Type.Object({
  rooms: Type.Array(
    Type.Object({
      id: Type.String(),
      peers: Type.Integer(),
      maxPeers: Type.Integer(),
      metadata: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
  /** Whether the caller may create rooms (has a `create` grant for `*`). */
  canCreate: Type.Boolean(),
});
export type LobbyRooms = Static<typeof LobbyRooms>;

/**
 * `GET /v1/lobby/rooms`: for a user (Bearer join token, not an API key), the live rooms the
 * token may join, with how full they are. What the demo's lobby shows.
 */
export function registerLobbyRoutes(app: FastifyInstance, deps: { verifier: TokenVerifier; catalog: RoomCatalog }): void {
  app.get('/v1/lobby/rooms', { schema: { response: { 200: LobbyRooms } } }, async (request, reply): Promise<LobbyRooms> => {
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (!match?.[1]) {
      throw new AppError('UNAUTHORIZED', 'missing bearer token');
    }
    const identity = await deps.verifier.verify(match[1]);
    const rooms = (await deps.catalog.list())
      .filter((room) => roomPermissions(identity.grants, room.id).join)
      .map((room) => ({ id: room.id, peers: room.peers, maxPeers: room.maxPeers, metadata: room.metadata }));
    void reply.header('cache-control', 'no-store');
    return { rooms, canCreate: roomPermissions(identity.grants, '*').create };
  });
}
