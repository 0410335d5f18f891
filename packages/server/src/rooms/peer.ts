import type { EventType, LeaveReason, PeerInfo } from '@heliograph/protocol';
import { ALL_PERMISSIONS, type PeerPermissions } from './peer-permissions.js';
import type { Room } from './room.js';

/**
 * What became of an attempt to hand an event to a peer's connection: handed to it, kept for it
 * while it reconnects (`queued`), or not delivered.
 */
export type Delivery = 'ok' | 'queued' | 'gone' | 'overloaded';

/**
 * Where a peer's events go: its connection on this node. Rooms talk to peers only through this,
 * so they never see sockets. A mirror of a peer on another node has a sink that takes nothing:
 * events reach it through the room's link, relays through `peer.deliver` requests.
 */
export interface PeerSink {
  /** Hands an event whose `data` is already serialised to the peer's connection. */
  sendEvent(type: EventType, dataJson: string): Delivery;
  /** The room let go of this peer for `reason` (replaced, kicked, room closed…) without it asking. */
  detached(reason: LeaveReason, detail?: string): void;
}

/** The sink of a mirrored peer: it is reached through its own node, never directly. */
export const REMOTE_SINK: PeerSink = {
  sendEvent: () => 'gone',
  detached: () => undefined,
};

/** One participant of one room. */
export class Peer {
  name: string | undefined;
  metadata: Record<string, unknown>;
  /** What this peer may do in the room (room service, control API); all allowed by default. */
  permissions: PeerPermissions;
  #infoJson: string | undefined;

  constructor(
    readonly id: string,
    readonly userId: string,
    readonly room: Room,
    /** Changes only when a session hand-over moves the peer between nodes (`Room.relocate`). */
    public sink: PeerSink,
    readonly joinedAt: number,
    name: string | undefined,
    metadata: Record<string, unknown>,
    permissions: PeerPermissions = ALL_PERMISSIONS,
    /** The node whose connection holds this peer, when not this one (a mirror, in cluster mode). */
    public node?: string | undefined,
  ) {
    this.name = name;
    this.metadata = metadata;
    this.permissions = { ...permissions };
  }

  /**
   * Relays to this peer still on their way to the node that held it before a hand-over moved it:
   * a relay by the new route waits for them, so that per-pair order holds across the move.
   */
  earlierRoute: Promise<void> | undefined;
  /** Relays to this peer's node not yet answered (cluster mode). */
  #inflight = 0;
  #drained: (() => void) | undefined;

  /** A relay to this peer's node was sent. */
  routeStarted(): void {
    this.#inflight++;
  }

  /** A relay to this peer's node was answered (or failed). */
  routeSettled(): void {
    if (--this.#inflight === 0 && this.#drained) {
      const drained = this.#drained;
      this.#drained = undefined;
      this.earlierRoute = undefined;
      drained();
    }
  }

  /** The peer moved to another node: relays on their way to the old one must land before any other. */
  rerouted(): void {
    if (this.#inflight > 0 && !this.earlierRoute) {
      this.earlierRoute = new Promise((resolve) => (this.#drained = resolve));
    }
  }

  info(): PeerInfo {
    return peerInfo(this.id, this.userId, this.joinedAt, this.name, this.metadata);
  }

  /** `info()` serialised, cached until the next `update()`. */
  infoJson(): string {
    this.#infoJson ??= JSON.stringify(this.info());
    return this.#infoJson;
  }

  /**
   * Changes the name or metadata. The new info is serialised before anything is assigned, so a
   * value that will not serialise throws and changes nothing.
   */
  update(changes: { name?: string | undefined; metadata?: Record<string, unknown> | undefined }): void {
    const name = changes.name ?? this.name;
    const metadata = changes.metadata ?? this.metadata;
    const json = JSON.stringify(peerInfo(this.id, this.userId, this.joinedAt, name, metadata));
    this.name = name;
    this.metadata = metadata;
    this.#infoJson = json;
  }
}

function peerInfo(id: string, userId: string, joinedAt: number, name: string | undefined, metadata: Record<string, unknown>): PeerInfo {
  const info: PeerInfo = { id, userId, metadata, joinedAt };
  if (name !== undefined) {
    info.name = name;
  }
  return info;
}
