import Type, { type Static } from 'typebox';

/**
 * What a peer may do in its room, beyond being there. Everything is allowed unless the room
 * service's answer to its join, or the control API, says otherwise.
 */
export const PeerPermissions = Type.Object(
  {
    /** May send `signal.send` (offers, answers, candidates). */
    signal: Type.Boolean({ default: true }),
    /** May send `data.send`. */
    data: Type.Boolean({ default: true }),
    /** May change its own name and metadata with `peer.update`. */
    update: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);
export type PeerPermissions = Static<typeof PeerPermissions>;

/** Some of the permissions, as the room service and the control API send them. */
export const PeerPermissionsPatch = Type.Partial(PeerPermissions);
export type PeerPermissionsPatch = Static<typeof PeerPermissionsPatch>;

export const ALL_PERMISSIONS: Readonly<PeerPermissions> = Object.freeze({ signal: true, data: true, update: true });

/** `base` with the given permissions changed. */
export function withPermissions(base: PeerPermissions, patch: PeerPermissionsPatch | undefined): PeerPermissions {
  return { ...base, ...patch };
}
