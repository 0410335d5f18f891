import Type, { type Static } from 'typebox';
import { Metadata } from './common.js';

/**
 * What a token lets its holder do in rooms. `room` is an exact room id, `"*"` for every room, or
 * a prefix ending in `*` (`"team-42-*"`). `join` lets the holder enter an existing room; `create`
 * lets it create the room when it does not exist (and enter it).
 */
export const RoomGrant = Type.Object({
  room: Type.String({ minLength: 1, maxLength: 129 }),
  join: Type.Optional(Type.Boolean()),
  create: Type.Optional(Type.Boolean()),
});
export type RoomGrant = Static<typeof RoomGrant>;

/**
 * The claims of a Heliograph join token (a JWT), whether minted by Heliograph itself (login,
 * `heliograph token`) or by the business's auth server. `exp` is required: no eternal tokens.
 */
export const TokenClaims = Type.Object({
  /** The user id. One session per user and room. */
  sub: Type.String({ minLength: 1, maxLength: 256 }),
  /** Display name, the default for `room.join`'s `name`. */
  name: Type.Optional(Type.String({ maxLength: 128 })),
  grants: Type.Array(RoomGrant, { maxItems: 100 }),
  /** Peer metadata the business attaches; a client's own metadata is merged over it. */
  metadata: Type.Optional(Metadata),
  exp: Type.Number(),
  iat: Type.Optional(Type.Number()),
  nbf: Type.Optional(Type.Number()),
  iss: Type.Optional(Type.String()),
  aud: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
});
export type TokenClaims = Static<typeof TokenClaims>;

/** Whether `grant` covers `roomId`. */
export function grantMatches(grant: RoomGrant, roomId: string): boolean {
  if (grant.room === '*' || grant.room === roomId) {
    return true;
  }
  return grant.room.endsWith('*') && roomId.startsWith(grant.room.slice(0, -1));
}

/** The permissions the grants give for one room (the union of every matching grant). */
export function roomPermissions(grants: readonly RoomGrant[], roomId: string) {
  let join = false;
  let create = false;
  for (const grant of grants) {
    if (grantMatches(grant, roomId)) {
      join ||= grant.join === true || grant.create === true;
      create ||= grant.create === true;
    }
  }
  return { join, create };
}
