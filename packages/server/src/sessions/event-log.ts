import type { EventType } from '@heliograph/protocol';

/** One event as it was sent: replayed with the same `seq` after a resume. */
export interface LoggedEvent {
  readonly seq: number;
  readonly type: EventType;
  /** The event's data, serialised once (shared with every other recipient of a broadcast). */
  readonly dataJson: string;
}

/** What an entry costs, roughly: its data, its type, and the object around them. */
function costOf(type: EventType, dataJson: string): number {
  return dataJson.length + type.length + 48;
}

/**
 * The events of one session that the client may not have processed yet, oldest first: appended
 * as they are sent, dropped when the client acknowledges them (`session.ack`), so that a resume
 * can replay exactly what was missed. Knows its size; its owner enforces the bounds.
 */
export class EventLog {
  readonly #entries: LoggedEvent[] = [];
  #bytes = 0;
  /** The seq of the newest event ever appended (0 before the first). */
  #last = 0;
  /**
   * Events up to this seq are gone (dropped for room, or acknowledged): a replay cannot start
   * before it. An acknowledged event counts too: a client that acked seq 5 and then resumes from
   * seq 3 would otherwise get 6… as if 4 and 5 had never been sent.
   */
  #lostUpTo = 0;

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Appends an event; returns the bytes it added. */
  append(seq: number, type: EventType, dataJson: string): number {
    this.#entries.push({ seq, type, dataJson });
    this.#last = seq;
    const cost = costOf(type, dataJson);
    this.#bytes += cost;
    return cost;
  }

  /** Forgets what the client has processed, up to `seq`; returns the bytes freed. */
  acknowledge(seq: number): number {
    let count = 0;
    let freed = 0;
    while (count < this.#entries.length && this.#entries[count]!.seq <= seq) {
      const entry = this.#entries[count]!;
      freed += costOf(entry.type, entry.dataJson);
      count++;
    }
    if (count > 0) {
      this.#lostUpTo = Math.max(this.#lostUpTo, this.#entries[count - 1]!.seq);
    }
    this.#entries.splice(0, count);
    this.#bytes -= freed;
    return freed;
  }

  /** Drops the oldest event although it was not acknowledged (no room for it); returns the bytes freed. */
  dropOldest(): number {
    const entry = this.#entries.shift();
    if (!entry) {
      return 0;
    }
    this.#lostUpTo = entry.seq;
    const freed = costOf(entry.type, entry.dataJson);
    this.#bytes -= freed;
    return freed;
  }

  /** Everything after `seq`, or null when some of it was dropped (or `seq` is in the future). */
  since(seq: number): LoggedEvent[] | null {
    if (seq < this.#lostUpTo || seq > this.#last) {
      return null;
    }
    return this.#entries.filter((entry) => entry.seq > seq);
  }

  /**
   * Starts an empty log as the continuation of another node's (a hand-over): `entries` follow
   * `after`, and `last` is the seq the other node sent last. Returns the bytes added.
   */
  continueFrom(after: number, last: number, entries: readonly LoggedEvent[]): number {
    this.#lostUpTo = after;
    let added = 0;
    for (const e of entries) {
      added += this.append(e.seq, e.type, e.dataJson);
    }
    this.#last = last;
    return added;
  }

  /** Releases everything; returns the bytes freed. */
  clear(): number {
    const freed = this.#bytes;
    this.#entries.length = 0;
    this.#bytes = 0;
    return freed;
  }
}
