import type { EventType, LeaveReason, PeerInfo, RoomInfo } from '@heliograph/protocol';
import { ackOf, isRemote, nodeOf, type PeerSink, type RelayAck, type RelayEvent } from './peer-sink.js';
import { ALL_PERMISSIONS, type PeerPermissions } from './peer-permissions.js';

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
 * link. In a cluster it also holds the members on other nodes, whose sinks lead to their node:
 * the room treats every member alike and only counts which ones keep it alive here.
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
    this.#remote += peer.local ? 0 : 1;
  }

  /**
   * A session hand-over moved `peer` between nodes: `sink` is where it is reached now. Nobody is
   * told; the hand-over tells whom it must.
   */
  relocate(peer: Peer, sink: PeerSink): void {
    if (this.peers.get(peer.id) !== peer) {
      return;
    }
    const wasLocal = peer.local;
    peer.reroute(sink);
    this.#remote += (wasLocal ? 1 : 0) - (peer.local ? 1 : 0);
  }

  /** Removes the peer and tells the others why. False when it was not here. */
  remove(peer: Peer, reason: LeaveReason, scope: BroadcastScope = 'cluster'): boolean {
    if (this.peers.get(peer.id) !== peer) {
      return false;
    }
    this.peers.delete(peer.id);
    this.#remote -= peer.local ? 0 : 1;
    if (this.byUser.get(peer.userId) === peer) {
      this.byUser.delete(peer.userId);
    }
    this.broadcast('peer.left', `{"peerId":${JSON.stringify(peer.id)},"reason":"${reason}"}`, undefined, scope);
    return true;
  }

  /**
   * Sends one event to every member but `exceptId`, each through its sink; those on other nodes
   * (`elsewhere`) get it through one publication on the link. Returns how many took it (members
   * on other nodes count once handed to the bus, not at all while it is down).
   */
  broadcast(type: EventType, dataJson: string, exceptId?: string, scope: BroadcastScope = 'cluster', permissions?: PeerPermissions): number {
    let delivered = 0;
    let elsewhere = 0;
    for (const peer of this.peers.values()) {
      if (peer.id === exceptId) {
        continue;
      }
      const delivery = peer.sink.sendEvent(type, dataJson);
      if (delivery === 'ok' || delivery === 'queued') {
        delivered++;
      } else if (delivery === 'elsewhere') {
        elsewhere++;
      }
    }
    if (scope === 'cluster' && this.link && this.link.publish(type, dataJson, exceptId, permissions)) {
      delivered += elsewhere;
    }
    return delivered;
  }
}

/** One participant of one room. */
export class Peer {
  name: string | undefined;
  metadata: Record<string, unknown>;
  /** What this peer may do in the room (room service, control API); all allowed by default. */
  permissions: PeerPermissions;
  #infoJson: string | undefined;
  #sink: PeerSink;

  constructor(
    readonly id: string,
    readonly userId: string,
    readonly room: Room,
    /** Changes only when a session hand-over moves the peer between nodes (`Room.relocate`). */
    sink: PeerSink,
    readonly joinedAt: number,
    name: string | undefined,
    metadata: Record<string, unknown>,
    permissions: PeerPermissions = ALL_PERMISSIONS,
  ) {
    this.#sink = sink;
    this.name = name;
    this.metadata = metadata;
    this.permissions = { ...permissions };
  }

  /** Where this peer's events and relays go. */
  get sink(): PeerSink {
    return this.#sink;
  }

  /** Whether this peer's connection is on this node. */
  get local(): boolean {
    return !isRemote(this.#sink);
  }

  /**
   * Hands a signal or data to this one peer: to its connection at once when it is on this node,
   * else to its node. A relay that finds earlier ones still on their way to the node the peer
   * left (`earlierRoute`) waits for them, so per-pair order holds across a hand-over. Throws
   * PEER_NOT_FOUND / PEER_OVERLOADED when the connection could not take it.
   */
  relay(event: RelayEvent, dataJson: string): RelayAck | Promise<RelayAck> {
    if (this.earlierRoute) {
      return this.earlierRoute.then(() => this.relay(event, dataJson));
    }
    const sink = this.#sink;
    return isRemote(sink) ? sink.relay(this, event, dataJson) : ackOf(sink.sendEvent(event, dataJson), this.id);
  }

  /**
   * Points the peer at a new sink (a session hand-over moved it between nodes). Relays on their
   * way to the node it left must land before any other.
   */
  reroute(sink: PeerSink): void {
    if (nodeOf(this.#sink) !== nodeOf(sink)) {
      this.#rerouted();
    }
    this.#sink = sink;
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

  #rerouted(): void {
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
