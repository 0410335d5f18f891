import type { EventType, LeaveReason, RoomInfo } from '@heliograph/protocol';
import type { Delivery, Peer, PeerSink } from './peer.js';
import type { PeerPermissions } from './peer-permissions.js';

export interface RoomOptions {
  maxPeers: number;
  emptyTimeoutMs: number;
  metadata: Record<string, unknown>;
}

/**
 * How a room reaches its members on other nodes (cluster mode): one publication per event,
 * heard once by every node with members in the room.
 */
export interface RoomLink {
  /**
   * `permissions`: the subject's, with `peer.joined` and `peer.updated` (mirrors keep them for the
   * control API). False when the other nodes cannot be reached (Redis away): nothing was sent.
   */
  publish(type: EventType, dataJson: string, exceptId: string | undefined, permissions?: PeerPermissions): boolean;
}

/**
 * `cluster`: this node's peers and, through the link, the other nodes'. `local`: this node's
 * peers only (applying an event another node already published).
 */
export type BroadcastScope = 'cluster' | 'local';

/**
 * An isolated group of peers. Holds no timers and does no I/O beyond its peers' sinks and its
 * link. In a cluster it also holds mirrors of the members on other nodes (`peer.node` set).
 */
export class Room {
  readonly peers = new Map<string, Peer>();
  /** One session per user: the user's current peer in this room. */
  readonly byUser = new Map<string, Peer>();
  metadata: Record<string, unknown>;
  readonly maxPeers: number;
  readonly emptyTimeoutMs: number;
  /** Set in cluster mode. */
  link: RoomLink | undefined;
  #remote = 0;

  constructor(
    readonly id: string,
    readonly createdAt: number,
    options: RoomOptions,
  ) {
    this.metadata = options.metadata;
    this.maxPeers = options.maxPeers;
    this.emptyTimeoutMs = options.emptyTimeoutMs;
  }

  /** Every member, on any node. */
  get size(): number {
    return this.peers.size;
  }

  /** The members whose connection is on this node. */
  get localSize(): number {
    return this.peers.size - this.#remote;
  }

  info(): RoomInfo {
    return { id: this.id, metadata: this.metadata, maxPeers: this.maxPeers, createdAt: this.createdAt };
  }

  add(peer: Peer, scope: BroadcastScope = 'cluster'): void {
    this.broadcast('peer.joined', `{"peer":${peer.infoJson()}}`, peer.id, scope, peer.permissions);
    this.peers.set(peer.id, peer);
    this.byUser.set(peer.userId, peer);
    if (peer.node !== undefined) {
      this.#remote++;
    }
  }

  /**
   * A session hand-over moved `peer` between nodes: `node` is where it is now (undefined: this
   * one, reached through `sink`). Nobody is told; the hand-over tells whom it must.
   */
  relocate(peer: Peer, node: string | undefined, sink: PeerSink): void {
    if (this.peers.get(peer.id) !== peer) {
      return;
    }
    this.#remote += (node !== undefined ? 1 : 0) - (peer.node !== undefined ? 1 : 0);
    if (peer.node !== node) {
      peer.rerouted();
    }
    peer.node = node;
    peer.sink = sink;
  }

  /** Removes the peer and tells the others why. False when it was not here. */
  remove(peer: Peer, reason: LeaveReason, scope: BroadcastScope = 'cluster'): boolean {
    if (this.peers.get(peer.id) !== peer) {
      return false;
    }
    this.peers.delete(peer.id);
    if (peer.node !== undefined) {
      this.#remote--;
    }
    if (this.byUser.get(peer.userId) === peer) {
      this.byUser.delete(peer.userId);
    }
    this.broadcast('peer.left', `{"peerId":${JSON.stringify(peer.id)},"reason":"${reason}"}`, undefined, scope);
    return true;
  }

  /**
   * Sends one event to every member but `exceptId`: this node's directly, the others' through
   * the link. Returns how many took it (members on other nodes count once handed to the bus,
   * not at all while it is down).
   */
  broadcast(type: EventType, dataJson: string, exceptId?: string, scope: BroadcastScope = 'cluster', permissions?: PeerPermissions): number {
    let delivered = 0;
    for (const peer of this.peers.values()) {
      if (peer.node === undefined && peer.id !== exceptId && handedOver(peer.sink.sendEvent(type, dataJson))) {
        delivered++;
      }
    }
    if (scope === 'cluster' && this.link && this.link.publish(type, dataJson, exceptId, permissions)) {
      const except = exceptId === undefined ? undefined : this.peers.get(exceptId);
      delivered += this.#remote - (except?.node !== undefined ? 1 : 0);
    }
    return delivered;
  }
}

/** Handed to the peer's connection, or kept for it while it reconnects. */
function handedOver(delivery: Delivery): boolean {
  return delivery === 'ok' || delivery === 'queued';
}
