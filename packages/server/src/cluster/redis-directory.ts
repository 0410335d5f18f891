import type { Logger } from '../shared/logger.js';
import type { NodeId } from './bus.js';
import type { ClaimOwner, ClaimPolicy, ClaimRecord, ClaimResult } from './claims.js';
import type { AddMemberResult, ClusterDirectory, MemberRecord, RestoreResult, RoomRecord, RoomSpec } from './directory.js';
import { OwnWrites } from './own-writes.js';
import { connectRedis, openRedis, quitRedis, redisCall, keepAlive, type RedisClient, type RedisSettings } from './redis-connection.js';
import * as lua from './redis-scripts.js';

/** As the script returns it; read with Number() and JSON.parse, never trusted as typed. */
type RawRecord = [unknown, string, unknown, unknown, unknown] | null;

/**
 * The cluster directory in Redis. Check-then-write operations are Lua scripts (atomic on the
 * server); every call fails fast with UNAVAILABLE while Redis is down. It remembers what this
 * node wrote, so that `restore()` can put it back after Redis lost its data.
 */
export class RedisDirectory implements ClusterDirectory {
  readonly #r: RedisClient;
  readonly #p: string;
  /** What this node wrote and has not removed: for `restore()`. */
  readonly #own = new OwnWrites();
  #closed = false;
  #connected = false;
  /** The key every script declares: on a Cluster it routes the script to the directory's slot. */
  readonly #keys: string[];

  constructor(settings: RedisSettings, logger: Logger) {
    this.#r = openRedis(settings, 'directory');
    // One hash tag for every key: on a Redis Cluster the directory lives in one slot, so that
    // its scripts may touch any of its keys.
    this.#p = `{${settings.prefix ?? 'hg'}}`;
    this.#keys = [`${this.#p}:rooms`];
    keepAlive(this.#r, 'directory', logger, () => this.#connected && !this.#closed);
  }

  /** Connects; UNAVAILABLE when Redis cannot be reached. Later outages are survived by reconnecting. */
  async connect(): Promise<void> {
    await connectRedis(this.#r);
    this.#connected = true;
  }

  async createRoom(spec: RoomSpec, createdAt: number): Promise<{ created: boolean; room: RoomRecord }> {
    const args = [this.#p, spec.roomId, spec.maxPeers, JSON.stringify(spec.metadata), createdAt, spec.emptyTimeoutMs ?? ''];
    const [created, raw] = (await lua.CREATE_ROOM.run(this.#r, this.#keys, args)) as [number, RawRecord];
    const room = toRoom(spec.roomId, raw)!;
    this.#own.noteRoom(room);
    return { created: created === 1, room };
  }

  async getRoom(roomId: string): Promise<RoomRecord | undefined> {
    return toRoom(roomId, (await lua.GET_ROOM.run(this.#r, this.#keys, [this.#p, roomId])) as RawRecord);
  }

  listRooms(): Promise<string[]> {
    return redisCall(() => this.#r.smembers(`${this.#p}:rooms`));
  }

  async updateRoom(roomId: string, patch: { metadata?: Record<string, unknown> | undefined; maxPeers?: number | undefined }): Promise<RoomRecord> {
    const metadata = patch.metadata === undefined ? '' : JSON.stringify(patch.metadata);
    const raw = (await lua.UPDATE_ROOM.run(this.#r, this.#keys, [this.#p, roomId, metadata, patch.maxPeers ?? ''])) as RawRecord;
    const room = toRoom(roomId, raw)!;
    this.#own.noteRoom(room);
    return room;
  }

  async deleteRoom(roomId: string, options: { onlyIfEmpty?: boolean } = {}): Promise<{ deleted: boolean; members: MemberRecord[] }> {
    const [deleted, raw] = (await lua.DELETE_ROOM.run(this.#r, this.#keys, [this.#p, roomId, options.onlyIfEmpty ? '1' : '0'])) as [number, string[]];
    const members = raw.map(parse<MemberRecord>);
    if (deleted === 1) {
      this.#own.roomDeleted(roomId, members);
    }
    return { deleted: deleted === 1, members };
  }

  async addMember(member: MemberRecord): Promise<AddMemberResult> {
    const [raw, replacedRaw] = (await this.#add(member, false)) as [RawRecord, string | null | undefined];
    // Remembered so that restore() can re-create the room even if another node created it.
    this.#own.noteRoom(toRoom(member.roomId, raw)!);
    const replaced = replacedRaw ? parse<MemberRecord>(replacedRaw) : undefined;
    this.#own.noteMember(member, replaced);
    return replaced ? { replaced } : {};
  }

  async removeMember(peerId: string): Promise<MemberRecord | undefined> {
    this.#own.forget([{ peerId }]);
    const raw = (await lua.REMOVE_MEMBER.run(this.#r, this.#keys, [this.#p, peerId])) as string | null;
    return raw === null ? undefined : parse<MemberRecord>(raw);
  }

  async moveMember(member: MemberRecord, from: NodeId): Promise<boolean> {
    this.#own.forget([member]);
    const moved = (await lua.MOVE_MEMBER.run(this.#r, this.#keys, [this.#p, member.peerId, JSON.stringify(member), from])) as number;
    return moved === 1;
  }

  adoptMember(member: MemberRecord, room: RoomRecord): void {
    this.#own.noteRoom(room);
    this.#own.noteMember(member);
  }

  async members(roomId: string): Promise<MemberRecord[]> {
    const raw = await redisCall(() => this.#r.hvals(`${this.#p}:room:${roomId}:members`));
    return raw.map(parse<MemberRecord>);
  }

  async locatePeer(peerId: string): Promise<MemberRecord | undefined> {
    const raw = await redisCall(() => this.#r.get(`${this.#p}:peer:${peerId}`));
    return raw === null ? undefined : parse<MemberRecord>(raw);
  }

  async removeNode(nodeId: NodeId): Promise<MemberRecord[]> {
    const raw = (await lua.REMOVE_NODE.run(this.#r, this.#keys, [this.#p, nodeId])) as string[];
    const removed = raw.map(parse<MemberRecord>);
    this.#own.forget(removed);
    return removed;
  }

  async claim(space: string, name: string, owner: ClaimOwner, policy: ClaimPolicy): Promise<ClaimResult> {
    const [granted, replacedRaw] = (await lua.CLAIM.run(this.#r, this.#keys, [this.#p, space, name, ownerJson(owner), policy])) as [string, string?];
    return replacedRaw === undefined ? { name: granted } : { name: granted, replaced: { name: granted, ...parse<ClaimOwner>(replacedRaw) } };
  }

  async release(space: string, name: string, owner: ClaimOwner): Promise<boolean> {
    return (await lua.RELEASE.run(this.#r, this.#keys, [this.#p, space, name, ownerJson(owner)])) === 1;
  }

  async claims(space: string): Promise<ClaimRecord[]> {
    const all = await redisCall(() => this.#r.hgetall(`${this.#p}:claims:${space}`));
    return Object.entries(all).map(([name, raw]) => ({ name, ...parse<ClaimOwner>(raw) }));
  }

  nextId(sequence: string, startAfter = 0): Promise<number> {
    const key = `${this.#p}:seq:${sequence}`;
    return redisCall(async () => {
      // One key, one transaction: a missing counter starts at `startAfter` (0 or more), then counts on.
      const replies = await this.#r.multi().set(key, Math.max(startAfter, 0), 'NX').incr(key).exec();
      const [err, n] = replies?.[1] ?? [new Error('the sequence transaction was aborted'), undefined];
      if (err) {
        throw err;
      }
      return Number(n);
    });
  }

  restore(): Promise<RestoreResult> {
    return this.#own.restore(this, (m) => this.#add(m, true));
  }

  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      await quitRedis(this.#r);
    }
  }

  #add(member: MemberRecord, restoring: boolean): Promise<unknown> {
    return lua.ADD_MEMBER.run(this.#r, this.#keys, [this.#p, JSON.stringify(member), restoring ? '1' : '0']);
  }
}

function toRoom(roomId: string, raw: RawRecord): RoomRecord | undefined {
  if (!raw) {
    return undefined;
  }
  const [maxPeers, metadata, createdAt, memberCount, emptyTimeoutMs] = raw;
  const room: RoomRecord = { roomId, maxPeers: Number(maxPeers), metadata: parse(metadata), createdAt: Number(createdAt), memberCount: Number(memberCount) };
  if (emptyTimeoutMs !== null && emptyTimeoutMs !== undefined) {
    room.emptyTimeoutMs = Number(emptyTimeoutMs);
  }
  return room;
}

// Records in Redis are written only by this module (and its scripts), from typed values.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names what it stored
function parse<T>(raw: string): T {
  return JSON.parse(raw) as T;
}

function ownerJson(o: ClaimOwner): string {
  return JSON.stringify({ nodeId: o.nodeId, key: o.key });
}
