import { statement, type Database } from '../storage/database.js';
import type { Webhooks } from './webhooks.js';

/**
 * The rooms and peers this node has told the backend about and not yet closed, kept in SQLite
 * beside the outbox. Rooms live in memory, so a node that crashes loses them without a word; on
 * the next start `closeLeftovers()` sends the `peer.left` and `room.finished` events the crash
 * swallowed, and the backend's picture of the rooms is right again.
 */
export class OpenRooms {
  readonly #db: Database;
  readonly #statements;

  constructor(db: Database) {
    this.#db = db;
    this.#statements = {
      openRoom: statement(db, 'INSERT OR REPLACE INTO webhook_open_rooms (room, body) VALUES (?, ?)'),
      closeRoom: statement(db, 'DELETE FROM webhook_open_rooms WHERE room = ?'),
      openPeer: statement(db, 'INSERT OR REPLACE INTO webhook_open_peers (room, peer, body) VALUES (?, ?, ?)'),
      closePeer: statement(db, 'DELETE FROM webhook_open_peers WHERE room = ? AND peer = ?'),
      rooms: statement(db, 'SELECT room, body FROM webhook_open_rooms ORDER BY room'),
      peers: statement(db, 'SELECT room, body FROM webhook_open_peers ORDER BY room, rowid'),
      clear: statement(db, 'DELETE FROM webhook_open_rooms'),
      clearPeers: statement(db, 'DELETE FROM webhook_open_peers'),
    };
  }

  roomStarted(room: string, data: unknown): void {
    this.#statements.openRoom.run(room, JSON.stringify(data));
  }

  roomFinished(room: string): void {
    this.#statements.closeRoom.run(room);
  }

  peerJoined(room: string, peerId: string, data: unknown): void {
    this.#statements.openPeer.run(room, peerId, JSON.stringify(data));
  }

  peerLeft(room: string, peerId: string): void {
    this.#statements.closePeer.run(room, peerId);
  }

  /**
   * Publishes `peer.left` (reason `node_lost`) for every peer and then `room.finished` (reason
   * `node_lost`) for every room left open by a previous run, and forgets them, in one transaction.
   * Returns how many rooms were closed.
   */
  closeLeftovers(webhooks: Pick<Webhooks, 'publish'>): number {
    return this.#db.transaction(() => {
      const peers = this.#statements.peers.all() as Array<{ room: string; body: string }>;
      for (const { room, body } of peers) {
        webhooks.publish('peer.left', room, { peer: JSON.parse(body) as unknown, reason: 'node_lost' });
      }
      const rooms = this.#statements.rooms.all() as Array<{ room: string; body: string }>;
      for (const { room, body } of rooms) {
        webhooks.publish('room.finished', room, { ...(JSON.parse(body) as object), reason: 'node_lost' });
      }
      this.#statements.clearPeers.run();
      this.#statements.clear.run();
      return rooms.length;
    })();
  }
}
