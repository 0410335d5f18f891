import type { Identity } from '../auth/identity.js';
import type { NodeId } from '../cluster/bus.js';
import type { Peer } from '../rooms/room.js';
import { PeerRoute } from './peer-route.js';
import type { PsSocket } from './ps-socket.js';

/**
 * A peer's connection: its socket, or in a cluster a route to the counterpart's presence peer on
 * the node holding the real socket (`peer-route.ts`).
 */
export type PsLink = PsSocket | PeerRoute;

/** How a streamer or SFU proved itself at the upgrade. */
export type StreamerCredential =
  | { kind: 'none' }
  /** The shared `auth.streamerToken`: any allowed id. */
  | { kind: 'token' }
  /** A JWT: only ids its grants may `create` as `ps:<id>`. */
  | { kind: 'jwt'; identity: Identity };

/**
 * Something players subscribe to: an Unreal streamer, or an SFU in its streamer role. Players
 * and SFUs in their player role are its subscribers, in subscription order.
 */
export class PsStreamer {
  id = '';
  /** Sent `endpointId` at least once: listed to players, in presence, announced by events. */
  identified = false;
  /**
   * In a cluster: the key its id is claimed under in the directory, from a cluster-wide
   * sequence, so that streamers list in the order they first identified on any node.
   */
  clusterKey: string | undefined;
  /** The id last confirmed (`endpointIdConfirm`): once set, `streamer.connected` was emitted and `streamer.disconnected` follows. */
  confirmedId: string | undefined;
  /** Listed to players (Epic's flag): set by `endpointId`, and for SFUs by `startStreaming`. */
  streaming = false;
  readonly subscribers = new Map<string, PsPlayer>();
  /** Players whose subscription waits on their presence join (in a cluster): they count against the player limit. */
  readonly arriving = new Set<PsPlayer>();
  /** Its peer in the presence room `ps:<id>`, once identified. */
  peer: Peer | undefined;
  /** For an SFU: its player side, which subscribes upstream. */
  sfuPlayer: PsPlayer | undefined;

  constructor(
    readonly socket: PsSocket,
    readonly type: 'Streamer' | 'SFU',
    readonly credential: StreamerCredential,
  ) {}
}

/**
 * A streamer held by another node of the cluster, as one player on this node subscribes to it:
 * `socket` forwards that player's messages to the streamer's node.
 */
export class RemoteStreamer {
  /** Counts the streamer's renames, so that a move overtaken by a newer one stops (`cluster-link.ts`). */
  moves = 0;

  constructor(
    /** The streamer's id; follows `streamerIdChanged` renames. */
    public id: string,
    readonly nodeId: NodeId,
    readonly socket: PeerRoute,
    readonly player: PsPlayer,
  ) {}
}

/** A browser player, or an SFU in its player role. */
export class PsPlayer {
  subscribedTo: PsStreamer | RemoteStreamer | undefined;
  /** Its peer in the presence room of the streamer it is subscribed to. */
  peer: Peer | undefined;
  /** For an SFU: its streamer side, which players subscribe to. */
  sfuStreamer: PsStreamer | undefined;

  constructor(
    readonly id: string,
    /** Its connection; on the streamer's node, a link to a player held by another node. */
    readonly socket: PsLink,
    readonly type: 'Player' | 'SFU',
    /** The verified token, when players must authenticate. */
    readonly identity: Identity | undefined,
  ) {}

  /** On a streamer's node: a player held by another node (its socket is a route there). */
  get remote(): boolean {
    return this.socket instanceof PeerRoute;
  }
}
