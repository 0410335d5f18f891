import type { PeerInfo } from '@heliograph/protocol';
import type { PeerPermissions } from '../rooms/peer-permissions.js';
import type { NodeId } from './bus.js';
import type { ModuleClaims } from './claims.js';

/** A room as the cluster knows it. */
export interface RoomSpec {
  roomId: string;
  maxPeers: number;
  metadata: Record<string, unknown>;
  /** How long the room lives while empty, as its creator set it (every node applies the same). */
  emptyTimeoutMs?: number | undefined;
}

/** A room with what the cluster counts of it. */
export interface RoomRecord extends RoomSpec {
  /** Milliseconds since the epoch, from the creating node's clock. */
  createdAt: number;
  memberCount: number;
}

/** A peer in a room, and the node whose connection holds it. */
export interface MemberRecord {
  roomId: string;
  peerId: string;
  userId: string;
  nodeId: NodeId;
  /** What the other members are told of this peer when they learn of it from the directory. */
  info?: PeerInfo | undefined;
  /** What the peer may do (shown by the control API of any node). */
  permissions?: PeerPermissions | undefined;
}

export interface AddMemberResult {
  /** The same user's previous session in that room, now removed (its node must detach it). */
  replaced?: MemberRecord | undefined;
}

/** What `restore()` could not put back, because another node took it meanwhile. */
export interface RestoreResult {
  members: MemberRecord[];
}

/**
 * The state nodes share. Every operation that checks then writes is atomic (a Lua script on
 * Redis), so limits hold under concurrent joins spread over nodes. All methods reject with
 * UNAVAILABLE when the store cannot be reached; none waits for it to come back.
 */
export interface ClusterDirectory extends ModuleClaims {
  /** Creates the room unless it exists; `created` tells which. */
  createRoom(spec: RoomSpec, createdAt: number): Promise<{ created: boolean; room: RoomRecord }>;
  getRoom(roomId: string): Promise<RoomRecord | undefined>;
  listRooms(): Promise<string[]>;
  /** Changes metadata and/or the limit (never below the members already in); ROOM_NOT_FOUND. */
  updateRoom(roomId: string, patch: { metadata?: Record<string, unknown> | undefined; maxPeers?: number | undefined }): Promise<RoomRecord>;
  /**
   * Deletes a room and its members' entries, returning the members. With `onlyIfEmpty` it is
   * deleted only when nobody is in it on any node (an empty-room timer on one node must not
   * delete a room alive on another); `deleted` tells.
   */
  deleteRoom(roomId: string, options?: { onlyIfEmpty?: boolean }): Promise<{ deleted: boolean; members: MemberRecord[] }>;
  /**
   * Atomically: ROOM_NOT_FOUND unless the room exists; removes the same user's previous session
   * in the room (reported as `replaced`; its place is reused); else ROOM_FULL when the room is at
   * its limit; then adds the member and its peer-directory entry. Adding a member again is a no-op.
   */
  addMember(member: MemberRecord): Promise<AddMemberResult>;
  /** Removes a peer from its room and the peer directory; returns it, or undefined if unknown. */
  removeMember(peerId: string): Promise<MemberRecord | undefined>;
  members(roomId: string): Promise<MemberRecord[]>;
  /**
   * A session hand-over moved a member to `member.nodeId`: rewrites its record, atomically, if node
   * `from` still holds it (false when it does not: it left or was replaced meanwhile). The caller
   * forgets it as its own.
   */
  moveMember(member: MemberRecord, from: NodeId): Promise<boolean>;
  /**
   * Remembers a member a hand-over moved to this node as this node's own, and its room as this
   * node knows it (for `restore()`: this node may never have written that room).
   */
  adoptMember(member: MemberRecord, room: RoomRecord): void;
  /** Which room and node a peer is on (the peer directory). */
  locatePeer(peerId: string): Promise<MemberRecord | undefined>;
  /** Removes every member held by a lost node; returns them (empty if another node did it first). */
  removeNode(nodeId: NodeId): Promise<MemberRecord[]>;
  /**
   * Puts back what this node wrote (its rooms and members) after the store lost it (Redis
   * restarted without persistence). Entries another node took meanwhile are returned. Claims are
   * not: their module claims them again when this node learns it was dropped (`onNodeLost`).
   */
  restore(): Promise<RestoreResult>;
  close(): Promise<void>;
}
