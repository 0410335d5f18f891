import { AppError } from '../shared/app-error.js';
import type { ClusterDirectory, MemberRecord, RestoreResult, RoomRecord, RoomSpec } from './directory.js';

/**
 * What one directory instance (one node) wrote and still holds, its members and their rooms, so
 * that `restore()` can put it back after the store lost it: Redis restarted without persistence,
 * or another node judged this one lost during a partition and ran `removeNode`. Every directory
 * keeps it the same way; only the writes of `restore` go to its own storage.
 */
export class OwnWrites {
  readonly #rooms = new Map<string, { spec: RoomSpec; createdAt: number }>();
  readonly #members = new Map<string, MemberRecord>();

  /** Remembers a room as last seen (even one another node created: restore() may re-create it). */
  noteRoom(room: RoomRecord): void {
    const { roomId, maxPeers, metadata, createdAt, emptyTimeoutMs } = room;
    this.#rooms.set(roomId, { spec: { roomId, maxPeers, metadata, emptyTimeoutMs }, createdAt });
  }

  /** This node deleted a room, and with it these members. */
  roomDeleted(roomId: string, members: MemberRecord[]): void {
    this.#rooms.delete(roomId);
    this.forget(members);
  }

  /** This node added (or adopted) `member`; the session it replaced, if any, is gone. */
  noteMember(member: MemberRecord, replaced?: MemberRecord): void {
    if (replaced) {
      this.#members.delete(replaced.peerId);
    }
    this.#members.set(member.peerId, structuredClone(member));
  }

  /** These peers are no longer this node's: removed, moved to another node, or removed with their node. */
  forget(members: Array<{ peerId: string }>): void {
    for (const m of members) {
      this.#members.delete(m.peerId);
    }
  }

  /**
   * Re-creates (unless they exist) the rooms this node's members are in, then adds the members
   * back with `addBack`, under which a newer session of the same user wins (CONFLICT). What
   * someone else took meanwhile is returned and forgotten; an unreachable store fails it all.
   */
  async restore(directory: Pick<ClusterDirectory, 'createRoom'>, addBack: (m: MemberRecord) => Promise<unknown>): Promise<RestoreResult> {
    const lost: RestoreResult = { members: [] };
    const roomsInUse = new Set([...this.#members.values()].map((m) => m.roomId));
    for (const [roomId, { spec, createdAt }] of this.#rooms) {
      if (roomsInUse.has(roomId)) {
        await directory.createRoom(spec, createdAt);
      }
    }
    for (const m of [...this.#members.values()]) {
      await addBack(m).catch((err: unknown) => {
        if (!(err instanceof AppError) || err.code === 'UNAVAILABLE' || err.code === 'INTERNAL') {
          throw err;
        }
        this.#members.delete(m.peerId);
        lost.members.push(m);
      });
    }
    return lost;
  }
}
