import type { RoomCatalog } from './room-catalog.js';
import { LocalRoomCatalog } from './room-catalog.js';
import type { JoinRequest, JoinResult, Rooms } from './rooms.js';

/**
 * Who is in which room, and how one gets in: the one seam between the room core and where
 * membership is decided. On one node `Rooms` decides at once (`LocalMembership`); in a cluster
 * the directory does, asynchronously (`cluster/cluster-rooms.ts`). Handlers, the control API, the
 * lobby and the Pixel Streaming presence take one of these and never ask which.
 */
export interface RoomMembership {
  /**
   * Puts a new peer into a room (creating it if the request may). `cancelled()` is asked before
   * an asynchronous join admits the peer (its connection may have gone meanwhile).
   */
  join(req: JoinRequest, cancelled: () => boolean): JoinResult | Promise<JoinResult>;
  /** Whether the room exists (anywhere in the cluster). */
  exists(roomId: string): boolean | Promise<boolean>;
  /** Rooms and peers as the HTTP APIs list and act on them. */
  readonly catalog: RoomCatalog;
}

/** Membership decided by this node alone: synchronous. */
export class LocalMembership implements RoomMembership {
  readonly catalog: RoomCatalog;

  constructor(private readonly rooms: Rooms) {
    this.catalog = new LocalRoomCatalog(rooms);
  }

  join(req: JoinRequest): JoinResult {
    return this.rooms.join(req);
  }

  exists(roomId: string): boolean {
    return this.rooms.get(roomId) !== undefined;
  }
}
