import type { Identity } from '../auth/identity.js';
import type { Peer } from '../rooms/peer.js';
import type { PsSocket } from './ps-socket.js';

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
  /** Listed to players (Epic's flag): set by `endpointId`, and for SFUs by `startStreaming`. */
  streaming = false;
  readonly subscribers = new Map<string, PsPlayer>();
  /** Its peer in the presence room `ps:<id>`, once identified. */
  peer: Peer | undefined;
  /** For an SFU: its player side, which subscribes upstream. */
  sfuPlayer: PsPlayer | undefined;

  constructor(
    readonly socket: PsSocket,
    readonly type: 'Streamer' | 'SFU',
    readonly credential: StreamerCredential,
    readonly connectedAt: number,
  ) {}
}

/** A browser player, or an SFU in its player role. */
export class PsPlayer {
  subscribedTo: PsStreamer | undefined;
  /** Its peer in the presence room of the streamer it is subscribed to. */
  peer: Peer | undefined;
  /** For an SFU: its streamer side, which players subscribe to. */
  sfuStreamer: PsStreamer | undefined;

  constructor(
    readonly id: string,
    readonly socket: PsSocket,
    readonly type: 'Player' | 'SFU',
    /** The verified token, when players must authenticate. */
    readonly identity: Identity | undefined,
    readonly connectedAt: number,
  ) {}
}
