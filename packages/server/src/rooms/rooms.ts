import { roomPermissions, type LeaveReason, type PeerInfo } from '@heliograph/protocol';
import type { Identity } from '../auth/identity.js';
import { AppError } from '../shared/app-error.js';
import type { Clock, TimerHandle } from '@heliograph/common';
import type { IdGenerator } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { Peer } from './room.js';
import type { PeerSink } from './peer-sink.js';
import { ALL_PERMISSIONS, type PeerPermissions, type PeerPermissionsPatch } from './peer-permissions.js';
import { Room, type BroadcastScope } from './room.js';
import { RoomEvents, type RoomFinishReason } from './room-events.js';

/** Options of a new room; unset ones take the node's defaults. */
export interface RoomCreateOptions {
  maxPeers?: number | undefined;
  emptyTimeoutMs?: number | undefined;
  metadata?: Record<string, unknown> | undefined;
}

export interface JoinRequest {
  identity: Identity;
  roomId: string;
  name?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  /** Room options, used only when this join creates the room. */
  create?: RoomCreateOptions | undefined;
  sink: PeerSink;
  /** The new peer's permissions (from the room service); all allowed when absent. */
  permissions?: PeerPermissions | undefined;
  /** False forbids creating the room even when the token would allow it (the room service was not asked). */
  createAllowed?: boolean | undefined;
}

export interface JoinResult {
  peer: Peer;
  room: Room;
  /** The peers that were there before this one. */
  others: PeerInfo[];
}

/**
 * What the rooms ask of the cluster in cluster mode (`cluster/cluster-rooms.ts`). Without it the
 * node is a cluster of one and nothing here is async.
 */
export interface RoomsCluster {
  /** No member of this node for `emptyTimeoutMs`: deletes the room if it is empty on every node; resolves whether it did. */
  retire(room: Room): Promise<boolean>;
  /** The room was closed here (control API): the other nodes must detach their members too. */
  closed(room: Room, reason: string): void;
  /** The room's metadata changed here. */
  updated(room: Room): void;
}

export interface RoomsOptions {
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  /** The node's room defaults; `maxPeers` is also the most a creator may ask for. */
  defaults: { maxPeers: number; emptyTimeoutMs: number };
}

/** The rooms of this node: join, leave, and the lifetime of empty rooms. */
export class Rooms {
  readonly #rooms = new Map<string, Room>();
  readonly #emptyTimers = new Map<Room, TimerHandle>();
  readonly #opts: RoomsOptions;
  #cluster: RoomsCluster | undefined;
  #closed = false;
  /** Rooms started and finished, peers joined, left and updated: for webhooks and other observers. */
  readonly events: RoomEvents;

  constructor(options: RoomsOptions) {
    this.#opts = options;
    this.events = new RoomEvents(options.logger);
  }

  /** Turns cluster mode on (once, at start-up). */
  attachCluster(cluster: RoomsCluster): void {
    this.#cluster = cluster;
  }

  get(roomId: string): Room | undefined {
    return this.#rooms.get(roomId);
  }

  /** Every live room, in creation order. */
  list(): Room[] {
    return [...this.#rooms.values()];
  }

  get count(): number {
    return this.#rooms.size;
  }

  join(req: JoinRequest): JoinResult {
    const { identity, roomId } = req;
    const may = roomPermissions(identity.grants, roomId);
    if (!may.join) {
      throw new AppError('FORBIDDEN', `The token does not grant joining room "${roomId}"`);
    }
    const metadata = { ...identity.metadata, ...req.metadata };
    // Serialised before anything changes: a value that will not serialise throws here, not later.
    JSON.stringify(metadata);
    const room = this.#rooms.get(roomId) ?? this.#create(roomId, may.create && req.createAllowed !== false, req.create);
    const previous = room.byUser.get(identity.userId);
    if (previous) {
      // One session per user and room: the newest wins, and the others never see two peers.
      room.remove(previous, 'replaced');
      previous.sink.detached('replaced');
      this.events.emit('peer.left', { room, peer: previous, reason: 'replaced' });
    }
    if (room.size >= room.maxPeers) {
      throw new AppError('ROOM_FULL', `Room "${roomId}" is full (${room.maxPeers} peers)`);
    }
    const others = [...room.peers.values()].map((p) => p.info());
    const name = req.name ?? identity.name;
    const permissions = req.permissions ?? ALL_PERMISSIONS;
    const peer = new Peer(this.#opts.ids('PR'), identity.userId, room, req.sink, this.#opts.clock.now(), name, metadata, permissions);
    this.#cancelEmptyTimer(room);
    room.add(peer);
    this.events.emit('peer.joined', { room, peer });
    return { peer, room, others };
  }

  leave(peer: Peer, reason: LeaveReason): void {
    const room = peer.room;
    if (room.remove(peer, reason)) {
      this.events.emit('peer.left', { room, peer, reason });
      this.release(room);
    }
  }

  /** Creates an empty room (control API); CONFLICT when it exists. It lives `emptyTimeoutMs` unless joined. */
  create(roomId: string, options: RoomCreateOptions = {}): Room {
    if (this.#rooms.has(roomId)) {
      throw new AppError('CONFLICT', `Room "${roomId}" already exists`);
    }
    const room = this.#create(roomId, true, options);
    this.#scheduleEmpty(room);
    return room;
  }

  /** Replaces a room's metadata and tells its peers with `room.updated`. */
  updateRoom(room: Room, metadata: Record<string, unknown>): void {
    const json = JSON.stringify({ ...room.info(), metadata });
    room.metadata = metadata;
    room.broadcast('room.updated', `{"room":${json}}`);
    this.#cluster?.updated(room);
  }

  // The cluster room core's steps of a join (cluster/cluster-rooms.ts); the local join above does
  // the same in one synchronous call.

  /** This node's object of a room the cluster knows; `started` when the cluster just created it. */
  adopt(record: { roomId: string; createdAt: number; maxPeers: number; metadata: Record<string, unknown> }, started: boolean, emptyTimeoutMs?: number): Room {
    const existing = this.#rooms.get(record.roomId);
    if (existing) {
      return existing;
    }
    const room = new Room(record.roomId, record.createdAt, {
      maxPeers: record.maxPeers,
      emptyTimeoutMs: emptyTimeoutMs ?? this.#opts.defaults.emptyTimeoutMs,
      metadata: record.metadata,
    });
    this.#rooms.set(room.id, room);
    if (started) {
      this.events.emit('room.started', { room });
    }
    return room;
  }

  /** Keeps a room from being retired while a join into it is under way. */
  hold(room: Room): void {
    this.#cancelEmptyTimer(room);
  }

  /** The room's lifetime runs again if no member of this node is in it. */
  release(room: Room): void {
    if (room.localSize === 0 && this.#rooms.get(room.id) === room) {
      this.#scheduleEmpty(room);
    }
  }

  /** A new peer of this node for `room`, not yet in it. */
  newPeer(req: JoinRequest, room: Room): Peer {
    const { identity } = req;
    const metadata = { ...identity.metadata, ...req.metadata };
    const peer = new Peer(
      this.#opts.ids('PR'),
      identity.userId,
      room,
      req.sink,
      this.#opts.clock.now(),
      req.name ?? identity.name,
      metadata,
      req.permissions ?? ALL_PERMISSIONS,
    );
    peer.infoJson(); // Serialised now, before the cluster or the room hold it.
    return peer;
  }

  /** Puts a peer the cluster admitted into its room and tells the room. */
  admit(peer: Peer): void {
    this.#cancelEmptyTimer(peer.room);
    peer.room.add(peer);
    this.events.emit('peer.joined', { room: peer.room, peer });
  }

  /** Drops this node's object of a room (no member of this node, the cluster keeps the room). */
  forget(room: Room): void {
    if (this.#rooms.get(room.id) === room) {
      this.#cancelEmptyTimer(room);
      this.#rooms.delete(room.id);
      room.link = undefined;
    }
  }

  /**
   * Changes a peer's name, metadata or permissions. The others get `peer.updated`; so does the
   * peer itself when `notifySelf` (the change came from the backend, not from the peer).
   */
  updatePeer(
    peer: Peer,
    changes: { name?: string | undefined; metadata?: Record<string, unknown> | undefined; permissions?: PeerPermissionsPatch | undefined },
    notifySelf = false,
  ): void {
    peer.update(changes);
    if (changes.permissions) {
      peer.permissions = { ...peer.permissions, ...changes.permissions };
    }
    peer.room.broadcast('peer.updated', `{"peer":${peer.infoJson()}}`, notifySelf ? undefined : peer.id, 'cluster', peer.permissions);
    this.events.emit('peer.updated', { room: peer.room, peer });
  }

  /** Removes a peer from its room on the backend's order: it gets `room.kicked`, the others `peer.left`. */
  kick(peer: Peer, reason: string): void {
    this.detach(peer, 'kicked', reason);
  }

  /**
   * Removes a peer without it asking: it gets `detached` (room.kicked, session.replaced…) and the
   * others `peer.left`. A member on another node is detached there when its node hears the `peer.left`.
   * `scope: 'local'` applies a removal another node already announced.
   */
  detach(peer: Peer, reason: LeaveReason, detail?: string, scope: BroadcastScope = 'cluster'): void {
    const room = peer.room;
    if (!room.remove(peer, reason, scope)) {
      return;
    }
    peer.sink.detached(reason, detail);
    // A member on another node is reported by its own node, once for the cluster.
    if (peer.local) {
      this.events.emit('peer.left', { room, peer, reason });
    }
    this.release(room);
  }

  /**
   * Ends a room: every peer is detached with `room.closed`. In a cluster the other nodes are told
   * to do the same; `origin: false` is a node doing so (the room finishes once, at its origin).
   */
  closeRoom(room: Room, reason: string, origin = true): void {
    if (this.#rooms.get(room.id) !== room) {
      return;
    }
    this.#cancelEmptyTimer(room);
    this.#rooms.delete(room.id);
    for (const peer of [...room.peers.values()]) {
      room.peers.delete(peer.id);
      peer.sink.detached('room_closed', reason);
      if (peer.local) {
        this.events.emit('peer.left', { room, peer, reason: 'room_closed' });
      }
    }
    room.byUser.clear();
    if (origin) {
      this.#cluster?.closed(room, reason);
      this.#finish(room, 'closed');
    }
    room.link = undefined;
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    for (const timer of this.#emptyTimers.values()) {
      this.#opts.clock.clearTimeout(timer);
    }
    this.#emptyTimers.clear();
    if (!this.#cluster) {
      // In a cluster the rooms go on on other nodes; ClusterRooms.close() ends those left empty.
      for (const room of this.#rooms.values()) {
        this.#finish(room, 'shutdown');
      }
    }
    this.#rooms.clear();
  }

  /** Reports a room's end to observers (the cluster core calls it for rooms it ended). */
  finish(room: Room, reason: RoomFinishReason): void {
    this.#finish(room, reason);
  }

  #finish(room: Room, reason: RoomFinishReason): void {
    this.events.emit('room.finished', { room, reason });
  }

  #create(roomId: string, mayCreate: boolean, options: RoomCreateOptions | undefined): Room {
    if (!mayCreate) {
      throw new AppError('ROOM_NOT_FOUND', `Room "${roomId}" does not exist`);
    }
    const { defaults } = this.#opts;
    JSON.stringify(options?.metadata); // Throws before the room exists if it will not serialise.
    const room = new Room(roomId, this.#opts.clock.now(), {
      maxPeers: Math.min(options?.maxPeers ?? defaults.maxPeers, defaults.maxPeers),
      emptyTimeoutMs: options?.emptyTimeoutMs ?? defaults.emptyTimeoutMs,
      metadata: options?.metadata ?? {},
    });
    this.#rooms.set(roomId, room);
    this.#opts.logger.debug({ room: roomId }, 'room created');
    this.events.emit('room.started', { room });
    return room;
  }

  #scheduleEmpty(room: Room): void {
    this.#cancelEmptyTimer(room);
    const timer = this.#opts.clock.setTimeout(() => {
      this.#emptyTimers.delete(room);
      if (room.localSize > 0 || this.#rooms.get(room.id) !== room) {
        return;
      }
      this.#rooms.delete(room.id);
      const cluster = this.#cluster;
      if (!cluster) {
        this.#opts.logger.debug({ room: room.id }, 'empty room deleted');
        this.#finish(room, 'empty');
        return;
      }
      cluster.retire(room).then(
        (deleted) => deleted && !this.#closed && this.#finish(room, 'empty'),
        (err: unknown) => this.#opts.logger.warn({ err, room: room.id }, 'cluster: could not retire an empty room'),
      );
    }, room.emptyTimeoutMs);
    this.#emptyTimers.set(room, timer);
  }

  #cancelEmptyTimer(room: Room): void {
    const timer = this.#emptyTimers.get(room);
    if (timer) {
      this.#opts.clock.clearTimeout(timer);
      this.#emptyTimers.delete(room);
    }
  }
}
