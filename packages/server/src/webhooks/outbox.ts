import { statement, type Database } from '../storage/database.js';

/** One recorded event as it sits in the outbox. `body` is the exact JSON that is POSTed. */
export interface OutboxEvent {
  position: number;
  id: string;
  type: string;
  /** The ordering key: a room id, or `''` for events that belong to no room. */
  room: string;
  seq: number;
  createdAt: number;
  body: string;
  attempts: number;
  nextAt: number;
  lastError: string | null;
}

/** A dead letter as the control API lists it. */
export interface DeadLetter {
  id: string;
  type: string;
  room: string;
  seq: number;
  createdAt: number;
  attempts: number;
  lastError: string | null;
  event: unknown;
}

/** A dead letter with its place in this node's outbox (what a page's cursor counts from). */
export interface StoredDeadLetter extends DeadLetter {
  position: number;
}

interface Row {
  position: number;
  id: string;
  type: string;
  room: string;
  room_seq: number;
  created_at: number;
  body: string;
  attempts: number;
  next_at: number;
  last_error: string | null;
}

function toEvent(row: Row): OutboxEvent {
  return {
    position: row.position,
    id: row.id,
    type: row.type,
    room: row.room,
    seq: row.room_seq,
    createdAt: row.created_at,
    body: row.body,
    attempts: row.attempts,
    nextAt: row.next_at,
    lastError: row.last_error,
  };
}

/** The `seq` of an event whose number the cluster has not given yet. */
export const UNNUMBERED = 0;

/** The head of each room's queue: the oldest pending event of its room. */
const HEADS = `
  SELECT * FROM webhook_events e
  WHERE e.state = 'pending'
    AND e.position = (SELECT MIN(p.position) FROM webhook_events p WHERE p.state = 'pending' AND p.room = e.room)`;

/**
 * The durable webhook outbox in the node's SQLite database. Writes are synchronous and
 * committed when they return, so an event recorded before a join is acknowledged survives a
 * crash right after. Delivered events are deleted; dead ones stay until redelivered or discarded.
 */
export class Outbox {
  readonly #insert;
  readonly #nextSeq;
  readonly #heads;
  readonly #nextDue;
  readonly #delete;
  readonly #retry;
  readonly #kill;
  readonly #deadPage;
  readonly #revive;
  readonly #discard;
  readonly #countPending;
  readonly #countDead;
  readonly #record;
  readonly #assign;

  constructor(private readonly db: Database) {
    this.#nextSeq = db.prepare<[string], { seq: number }>(
      `INSERT INTO webhook_room_seq (room, seq) VALUES (?, 1)
       ON CONFLICT (room) DO UPDATE SET seq = seq + 1 RETURNING seq`,
    );
    this.#insert = statement(
      db,
      `INSERT INTO webhook_events (id, type, room, room_seq, created_at, body, state, attempts, next_at)
       VALUES (@id, @type, @room, @seq, @createdAt, @body, 'pending', 0, @createdAt)`,
    );
    this.#heads = db.prepare<[number], Row>(`${HEADS} AND e.next_at <= ? ORDER BY e.next_at, e.position`);
    this.#nextDue = db.prepare<[], { at: number | null }>(`SELECT MIN(next_at) AS at FROM (${HEADS})`);
    this.#delete = db.prepare<[number]>(`DELETE FROM webhook_events WHERE position = ?`);
    this.#retry = statement(db, `UPDATE webhook_events SET attempts = @attempts, next_at = @nextAt, last_error = @error WHERE position = @position`);
    this.#kill = statement(db, `UPDATE webhook_events SET state = 'dead', attempts = @attempts, last_error = @error WHERE position = @position`);
    this.#deadPage = db.prepare<[number, number], Row>(`SELECT * FROM webhook_events WHERE state = 'dead' AND position > ? ORDER BY position LIMIT ?`);
    this.#revive = db.prepare<[number, string]>(
      `UPDATE webhook_events SET state = 'pending', attempts = 0, next_at = ?, last_error = NULL WHERE id = ? AND state = 'dead'`,
    );
    this.#discard = db.prepare<[string]>(`DELETE FROM webhook_events WHERE id = ? AND state = 'dead'`);
    this.#countPending = db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM webhook_events WHERE state = 'pending'`);
    this.#countDead = db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM webhook_events WHERE state = 'dead'`);
    this.#assign = statement(db, `UPDATE webhook_events SET room_seq = @seq, body = @body WHERE position = @position`);
    this.#record = db.transaction((e: { id: string; type: string; room: string; createdAt: number; data: unknown; deferSeq: boolean }) => {
      const seq = e.deferSeq ? UNNUMBERED : (this.#nextSeq.get(e.room)?.seq ?? 1);
      const body = JSON.stringify({ id: e.id, type: e.type, createdAt: e.createdAt, room: e.room || null, seq, data: e.data });
      this.#insert.run({ id: e.id, type: e.type, room: e.room, seq, createdAt: e.createdAt, body });
      return seq;
    });
  }

  /**
   * Records an event (next in its room's sequence), committed before this returns; returns its
   * seq. `deferSeq`: numbered later by `assignSeq` (in a cluster, the room's sequence is shared).
   */
  record(event: { id: string; type: string; room: string; createdAt: number; data: unknown }, deferSeq = false): number {
    return this.#record.immediate({ ...event, deferSeq });
  }

  /** Numbers an event recorded with `deferSeq`; returns it as it will be sent. */
  assignSeq(event: OutboxEvent, seq: number): OutboxEvent {
    const body = JSON.stringify({ ...(JSON.parse(event.body) as Record<string, unknown>), seq });
    this.#assign.run({ position: event.position, seq, body });
    return { ...event, seq, body };
  }

  /** The events due now that head their room's queue, soonest first. */
  dueHeads(now: number): OutboxEvent[] {
    return this.#heads.all(now).map(toEvent);
  }

  /** When the next queue head falls due, or undefined when nothing is pending. */
  nextDueAt(): number | undefined {
    return this.#nextDue.get()?.at ?? undefined;
  }

  delivered(position: number): void {
    this.#delete.run(position);
  }

  retryLater(position: number, attempts: number, nextAt: number, error: string): void {
    this.#retry.run({ position, attempts, nextAt, error });
  }

  dead(position: number, attempts: number, error: string): void {
    this.#kill.run({ position, attempts, error });
  }

  /** Dead letters after `cursor` (an opaque position), oldest first. */
  deadLetters(limit: number, cursor = 0): { items: StoredDeadLetter[]; nextCursor?: number } {
    const rows = this.#deadPage.all(cursor, limit + 1);
    const page = rows.slice(0, limit);
    const items = page.map((row) => {
      const { body, nextAt: _nextAt, ...letter } = toEvent(row);
      return { ...letter, event: JSON.parse(body) as unknown };
    });
    const last = page.at(-1);
    return rows.length > limit && last ? { items, nextCursor: last.position } : { items };
  }

  /** Puts a dead letter back in its room's queue; false when there is no such dead letter. */
  redeliver(id: string, now: number): boolean {
    return this.#revive.run(now, id).changes > 0;
  }

  /** Deletes a dead letter for good; false when there is no such dead letter. */
  discard(id: string): boolean {
    return this.#discard.run(id).changes > 0;
  }

  get pendingCount(): number {
    return this.#countPending.get()?.n ?? 0;
  }

  /** Events that ran out of attempts and wait to be redelivered or discarded. */
  get deadCount(): number {
    return this.#countDead.get()?.n ?? 0;
  }
}
