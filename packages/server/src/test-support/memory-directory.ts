import { AppError } from '../shared/app-error.js';
import type { NodeId } from '../cluster/bus.js';
import type { ClaimOwner, ClaimPolicy, ClaimRecord, ClaimResult } from '../cluster/claims.js';
import type { AddMemberResult, ClusterDirectory, MemberRecord, RestoreResult, RoomRecord, RoomSpec } from '../cluster/directory.js';
import { OwnWrites } from '../cluster/own-writes.js';

interface StoredRoom {
  spec: RoomSpec;
  createdAt: number;
  /** peerId → member, in join order; one session per user. */
  members: Map<string, MemberRecord>;
}

/** The shared state of an in-memory cluster: one per process, or one per test cluster. */
export class MemoryDirectoryState {
  readonly rooms = new Map<string, StoredRoom>();
  readonly peers = new Map<string, MemberRecord>();
  /** space → claimed name → holder. */
  readonly claims = new Map<string, Map<string, ClaimOwner>>();
  readonly sequences = new Map<string, number>();
}

const copy = <T extends object>(v: T): T => structuredClone(v);
const holds = (r: ClaimOwner | undefined, owner: ClaimOwner): boolean => !!r && r.nodeId === owner.nodeId && r.key === owner.key;

/**
 * The directory of in-memory test nodes sharing one state. Single-threaded JavaScript makes every method atomic; the Redis directory gets the same
 * semantics from Lua scripts, and one contract suite checks both.
 */
export class MemoryDirectory implements ClusterDirectory {
  readonly #s: MemoryDirectoryState;
  /** What this instance wrote and still holds, for restore() (as the Redis directory keeps it). */
  readonly #own = new OwnWrites();

  constructor(state = new MemoryDirectoryState()) {
    this.#s = state;
  }

  async createRoom(spec: RoomSpec, createdAt: number): Promise<{ created: boolean; room: RoomRecord }> {
    let room = this.#s.rooms.get(spec.roomId);
    const created = !room;
    if (!room) {
      room = { spec: copy(spec), createdAt, members: new Map() };
      this.#s.rooms.set(spec.roomId, room);
    }
    this.#own.noteRoom(record(room));
    return { created, room: record(room) };
  }

  async getRoom(roomId: string): Promise<RoomRecord | undefined> {
    const room = this.#s.rooms.get(roomId);
    return room && record(room);
  }

  async listRooms(): Promise<string[]> {
    return [...this.#s.rooms.keys()];
  }

  async updateRoom(roomId: string, patch: { metadata?: Record<string, unknown> | undefined; maxPeers?: number | undefined }): Promise<RoomRecord> {
    const room = this.#room(roomId);
    if (patch.metadata !== undefined) {
      room.spec.metadata = copy(patch.metadata);
    }
    if (patch.maxPeers !== undefined) {
      room.spec.maxPeers = Math.max(patch.maxPeers, room.members.size);
    }
    this.#own.noteRoom(record(room));
    return record(room);
  }

  async deleteRoom(roomId: string, options: { onlyIfEmpty?: boolean } = {}): Promise<{ deleted: boolean; members: MemberRecord[] }> {
    const room = this.#s.rooms.get(roomId);
    if (!room || (options.onlyIfEmpty && room.members.size > 0)) {
      return { deleted: false, members: [] };
    }
    const members = [...room.members.values()];
    for (const m of members) {
      this.#s.peers.delete(m.peerId);
    }
    this.#s.rooms.delete(roomId);
    this.#own.roomDeleted(roomId, members);
    return { deleted: true, members };
  }

  async addMember(member: MemberRecord): Promise<AddMemberResult> {
    const result = this.#add(member, false);
    this.#own.noteRoom(record(this.#room(member.roomId)));
    this.#own.noteMember(member, result.replaced);
    return result;
  }

  /** `restoring`: a newer session of the same user wins (CONFLICT) instead of being replaced. */
  #add(member: MemberRecord, restoring: boolean): AddMemberResult {
    const room = this.#room(member.roomId);
    const previous = [...room.members.values()].find((m) => m.userId === member.userId && m.peerId !== member.peerId);
    if (previous && restoring) {
      throw new AppError('CONFLICT', `User "${member.userId}" has a newer session in room "${member.roomId}"`);
    }
    if (previous) {
      this.#unlink(previous);
    }
    if (!room.members.has(member.peerId) && room.members.size >= room.spec.maxPeers) {
      throw new AppError('ROOM_FULL', `Room "${member.roomId}" is full (${room.spec.maxPeers} peers)`);
    }
    const m = copy(member);
    room.members.set(m.peerId, m);
    this.#s.peers.set(m.peerId, m);
    return previous ? { replaced: previous } : {};
  }

  async removeMember(peerId: string): Promise<MemberRecord | undefined> {
    this.#own.forget([{ peerId }]);
    const m = this.#s.peers.get(peerId);
    if (m) {
      this.#unlink(m);
    }
    return m;
  }

  async moveMember(member: MemberRecord, from: NodeId): Promise<boolean> {
    this.#own.forget([member]);
    const old = this.#s.peers.get(member.peerId);
    const room = old && this.#s.rooms.get(old.roomId);
    if (!old || !room || old.nodeId !== from) {
      return false;
    }
    const m = copy(member);
    room.members.set(m.peerId, m);
    this.#s.peers.set(m.peerId, m);
    return true;
  }

  adoptMember(member: MemberRecord, room: RoomRecord): void {
    this.#own.noteRoom(room);
    this.#own.noteMember(member);
  }

  async members(roomId: string): Promise<MemberRecord[]> {
    return [...(this.#s.rooms.get(roomId)?.members.values() ?? [])].map(copy);
  }

  async locatePeer(peerId: string): Promise<MemberRecord | undefined> {
    const m = this.#s.peers.get(peerId);
    return m && copy(m);
  }

  async removeNode(nodeId: NodeId): Promise<MemberRecord[]> {
    // No await between reading and removing: a concurrent caller must find nothing left.
    const gone = [...this.#s.peers.values()].filter((m) => m.nodeId === nodeId);
    for (const m of gone) {
      this.#unlink(m);
    }
    this.#own.forget(gone);
    return gone;
  }

  async claim(space: string, requested: string, owner: ClaimOwner, policy: ClaimPolicy): Promise<ClaimResult> {
    const held = this.#s.claims.get(space) ?? new Map<string, ClaimOwner>();
    this.#s.claims.set(space, held);
    const free = (name: string) => !held.has(name) || holds(held.get(name), owner);
    let name = requested;
    let replaced: ClaimRecord | undefined;
    if (!free(requested)) {
      if (policy === 'reject') {
        throw new AppError('CONFLICT', `"${requested}" is in use`);
      }
      if (policy === 'replace') {
        replaced = { name, ...held.get(requested)! };
      } else {
        let n = 1;
        while (!free(`${requested}${n}`)) {
          n++;
        }
        name = `${requested}${n}`;
      }
    }
    held.set(name, { nodeId: owner.nodeId, key: owner.key });
    return replaced ? { name, replaced } : { name };
  }

  async release(space: string, name: string, owner: ClaimOwner): Promise<boolean> {
    const held = this.#s.claims.get(space);
    return holds(held?.get(name), owner) && held!.delete(name);
  }

  async claims(space: string): Promise<ClaimRecord[]> {
    return [...(this.#s.claims.get(space) ?? [])].map(([name, o]) => ({ name, ...o }));
  }

  async nextId(sequence: string, startAfter = 0): Promise<number> {
    const n = (this.#s.sequences.get(sequence) ?? startAfter) + 1;
    this.#s.sequences.set(sequence, n);
    return n;
  }

  /** In memory nothing is lost but what another node's `removeNode` took (see `OwnWrites`). */
  restore(): Promise<RestoreResult> {
    return this.#own.restore(this, async (m) => this.#add(m, true));
  }

  async close(): Promise<void> {
    // Nothing to release: the state belongs to whoever made it.
  }

  #room(roomId: string): StoredRoom {
    const room = this.#s.rooms.get(roomId);
    if (!room) {
      throw new AppError('ROOM_NOT_FOUND', `No room "${roomId}"`);
    }
    return room;
  }

  /** Removes a member from its room (if the room is still there) and from the peer directory. */
  #unlink(m: MemberRecord): void {
    this.#s.rooms.get(m.roomId)?.members.delete(m.peerId);
    this.#s.peers.delete(m.peerId);
  }
}

function record(room: StoredRoom): RoomRecord {
  return { ...copy(room.spec), createdAt: room.createdAt, memberCount: room.members.size };
}
