import type { RoomInfo } from '@heliograph/protocol';
import { AppError } from '../shared/app-error.js';
import type { Peer } from './room.js';
import type { PeerPermissionsPatch } from './peer-permissions.js';
import type { Room } from './room.js';
import type { RoomCreateOptions, Rooms } from './rooms.js';

/** A room as the HTTP APIs list it. */
export interface RoomSummary extends RoomInfo {
  /** Members on every node. */
  peers: number;
  emptyTimeoutMs: number;
}

export interface PeerChanges {
  name?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  permissions?: PeerPermissionsPatch | undefined;
}

/**
 * Where the control API and the lobby find rooms and act on peers: this node's rooms, or, in a
 * cluster, every node's (a room is opened here to be acted on, a peer on another node is acted on
 * by its own node). Every method may reject UNAVAILABLE in a cluster whose Redis is away.
 */
export interface RoomCatalog {
  list(): Promise<RoomSummary[]>;
  /** This node's object of the room, or ROOM_NOT_FOUND. */
  find(roomId: string): Promise<Room>;
  /** Creates an empty room; CONFLICT when it exists. */
  create(roomId: string, options: RoomCreateOptions): Promise<Room>;
  kick(peer: Peer, reason: string): Promise<void>;
  /** Changes a peer (the room, the peer included, gets peer.updated); resolves with its permissions after. */
  updatePeer(peer: Peer, changes: PeerChanges): Promise<Peer['permissions']>;
  /** Hands an event to one peer; PEER_NOT_FOUND / PEER_OVERLOADED when it could not. */
  sendTo(peer: Peer, type: 'data', dataJson: string): Promise<void>;
}

/** The rooms of a one-node service. */
export class LocalRoomCatalog implements RoomCatalog {
  constructor(private readonly rooms: Rooms) {}

  async list(): Promise<RoomSummary[]> {
    return this.rooms.list().map((room) => ({ ...room.info(), emptyTimeoutMs: room.emptyTimeoutMs, peers: room.size }));
  }

  async find(roomId: string): Promise<Room> {
    const room = this.rooms.get(roomId);
    if (!room) {
      throw new AppError('ROOM_NOT_FOUND', `No room "${roomId}"`);
    }
    return room;
  }

  async create(roomId: string, options: RoomCreateOptions): Promise<Room> {
    return this.rooms.create(roomId, options);
  }

  async kick(peer: Peer, reason: string): Promise<void> {
    this.rooms.kick(peer, reason);
  }

  async updatePeer(peer: Peer, changes: PeerChanges): Promise<Peer['permissions']> {
    this.rooms.updatePeer(peer, changes, true);
    return peer.permissions;
  }

  async sendTo(peer: Peer, type: 'data', dataJson: string): Promise<void> {
    await peer.relay(type, dataJson);
  }
}
