import type { EventType, LeaveReason, RoomInfo } from '@heliograph/protocol';
import type { Delivery, Peer } from './peer.js';

export interface RoomOptions {
  maxPeers: number;
  emptyTimeoutMs: number;
  metadata: Record<string, unknown>;
}

/** An isolated group of peers. Holds no timers and does no I/O beyond its peers' sinks. */
export class Room {
  readonly peers = new Map<string, Peer>();
  /** One session per user: the user's current peer in this room. */
  readonly byUser = new Map<string, Peer>();
  metadata: Record<string, unknown>;
  readonly maxPeers: number;
  readonly emptyTimeoutMs: number;

  constructor(
    readonly id: string,
    readonly createdAt: number,
    options: RoomOptions,
  ) {
    this.metadata = options.metadata;
    this.maxPeers = options.maxPeers;
    this.emptyTimeoutMs = options.emptyTimeoutMs;
  }

  get size(): number {
    return this.peers.size;
  }

  info(): RoomInfo {
    return { id: this.id, metadata: this.metadata, maxPeers: this.maxPeers, createdAt: this.createdAt };
  }

  add(peer: Peer): void {
    this.broadcast('peer.joined', `{"peer":${peer.infoJson()}}`, peer.id);
    this.peers.set(peer.id, peer);
    this.byUser.set(peer.userId, peer);
  }

  /** Removes the peer and tells the others why. False when it was not here. */
  remove(peer: Peer, reason: LeaveReason): boolean {
    if (this.peers.get(peer.id) !== peer) {
      return false;
    }
    this.peers.delete(peer.id);
    if (this.byUser.get(peer.userId) === peer) {
      this.byUser.delete(peer.userId);
    }
    this.broadcast('peer.left', `{"peerId":${JSON.stringify(peer.id)},"reason":"${reason}"}`);
    return true;
  }

  /** Sends one event to every peer but `exceptId`; returns how many took it. */
  broadcast(type: EventType, dataJson: string, exceptId?: string): number {
    let delivered = 0;
    for (const peer of this.peers.values()) {
      if (peer.id !== exceptId && peer.sink.sendEvent(type, dataJson) === ('ok' satisfies Delivery)) {
        delivered++;
      }
    }
    return delivered;
  }
}
