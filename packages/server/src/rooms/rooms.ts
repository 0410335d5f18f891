import { roomPermissions, type LeaveReason, type PeerInfo } from '@heliograph/protocol';
import type { Identity } from '../auth/identity.js';
import { AppError } from '../shared/app-error.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import type { IdGenerator } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { Peer, type PeerSink } from './peer.js';
import { ALL_PERMISSIONS, type PeerPermissions, type PeerPermissionsPatch } from './peer-permissions.js';
import { Room } from './room.js';
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
  #closed = false;
  /** Rooms started and finished, peers joined, left and updated: for webhooks and other observers. */
  readonly events: RoomEvents;

  constructor(options: RoomsOptions) {
    this.#opts = options;
    this.events = new RoomEvents(options.logger);
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
    const metadata = { ...identity.metadata, ...req.metadata };
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
      if (room.size === 0) {
        this.#scheduleEmpty(room);
      }
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
    room.metadata = metadata;
    room.broadcast('room.updated', `{"room":${JSON.stringify(room.info())}}`);
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
    peer.room.broadcast('peer.updated', `{"peer":${peer.infoJson()}}`, notifySelf ? undefined : peer.id);
    this.events.emit('peer.updated', { room: peer.room, peer });
  }

  /** Removes a peer from its room on the backend's order: it gets `room.kicked`, the others `peer.left`. */
  kick(peer: Peer, reason: string): void {
    const room = peer.room;
    if (!room.remove(peer, 'kicked')) {
      return;
    }
    peer.sink.detached('kicked', reason);
    this.events.emit('peer.left', { room, peer, reason: 'kicked' });
    if (room.size === 0) {
      this.#scheduleEmpty(room);
    }
  }

  /** Ends a room: every peer is detached with `room.closed`. */
  closeRoom(room: Room, reason: string): void {
    if (this.#rooms.get(room.id) !== room) {
      return;
    }
    this.#cancelEmptyTimer(room);
    this.#rooms.delete(room.id);
    for (const peer of [...room.peers.values()]) {
      room.peers.delete(peer.id);
      peer.sink.detached('room_closed', reason);
      this.events.emit('peer.left', { room, peer, reason: 'room_closed' });
    }
    room.byUser.clear();
    this.#finish(room, 'closed');
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
    for (const room of this.#rooms.values()) {
      this.#finish(room, 'shutdown');
    }
    this.#rooms.clear();
  }

  #finish(room: Room, reason: RoomFinishReason): void {
    this.events.emit('room.finished', { room, reason });
  }

  #create(roomId: string, mayCreate: boolean, options: RoomCreateOptions | undefined): Room {
    if (!mayCreate) {
      throw new AppError('ROOM_NOT_FOUND', `Room "${roomId}" does not exist`);
    }
    const { defaults } = this.#opts;
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
      if (room.size === 0 && this.#rooms.get(room.id) === room) {
        this.#rooms.delete(room.id);
        this.#opts.logger.debug({ room: room.id }, 'empty room deleted');
        this.#finish(room, 'empty');
      }
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
