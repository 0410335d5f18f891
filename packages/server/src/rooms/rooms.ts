import { roomPermissions, type LeaveReason, type PeerInfo } from '@heliograph/protocol';
import type { Identity } from '../auth/identity.js';
import { AppError } from '../shared/app-error.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import type { IdGenerator } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { Peer, type PeerSink } from './peer.js';
import { Room } from './room.js';

export interface JoinRequest {
  identity: Identity;
  roomId: string;
  name?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  /** Room options, used only when this join creates the room. */
  create?: { maxPeers?: number | undefined; emptyTimeoutMs?: number | undefined; metadata?: Record<string, unknown> | undefined } | undefined;
  sink: PeerSink;
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

  constructor(options: RoomsOptions) {
    this.#opts = options;
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
    const room = this.#rooms.get(roomId) ?? this.#create(roomId, may.create, req.create);
    const previous = room.byUser.get(identity.userId);
    if (previous) {
      // One session per user and room: the newest wins, and the others never see two peers.
      room.remove(previous, 'replaced');
      previous.sink.detached('replaced');
    }
    if (room.size >= room.maxPeers) {
      throw new AppError('ROOM_FULL', `Room "${roomId}" is full (${room.maxPeers} peers)`);
    }
    const others = [...room.peers.values()].map((p) => p.info());
    const metadata = { ...identity.metadata, ...req.metadata };
    const name = req.name ?? identity.name;
    const peer = new Peer(this.#opts.ids('PR'), identity.userId, room, req.sink, this.#opts.clock.now(), name, metadata);
    this.#cancelEmptyTimer(room);
    room.add(peer);
    return { peer, room, others };
  }

  leave(peer: Peer, reason: LeaveReason): void {
    const room = peer.room;
    if (room.remove(peer, reason) && room.size === 0) {
      this.#scheduleEmpty(room);
    }
  }

  /** Ends a room: every peer is detached with `room.closed`. */
  closeRoom(room: Room, reason: string): void {
    this.#cancelEmptyTimer(room);
    this.#rooms.delete(room.id);
    for (const peer of [...room.peers.values()]) {
      room.peers.delete(peer.id);
      peer.sink.detached('room_closed', reason);
    }
    room.byUser.clear();
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
    this.#rooms.clear();
  }

  #create(roomId: string, mayCreate: boolean, options: JoinRequest['create']): Room {
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
    return room;
  }

  #scheduleEmpty(room: Room): void {
    this.#cancelEmptyTimer(room);
    const timer = this.#opts.clock.setTimeout(() => {
      this.#emptyTimers.delete(room);
      if (room.size === 0 && this.#rooms.get(room.id) === room) {
        this.#rooms.delete(room.id);
        this.#opts.logger.debug({ room: room.id }, 'empty room deleted');
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
