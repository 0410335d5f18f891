/** Counts per surface, for the long run's report. */
export interface SurfaceStats {
  /** Frames or requests sent. */
  sent: number;
  /** Frames that got their one answer (native), barriers answered (dialect), requests answered (REST). */
  answered: number;
  /** Expected answers that never came: each is also a finding. */
  unanswered: number;
  /** Expected answers excused because the server closed the connection with an allowed code. */
  excused: number;
  /** Closes by code. */
  closes: Record<string, number>;
  /** Answers by outcome: `ok`, an error code, an HTTP status. */
  outcomes: Record<string, number>;
}

export function newStats(): SurfaceStats {
  return { sent: 0, answered: 0, unanswered: 0, excused: 0, closes: {}, outcomes: {} };
}

export function bump(counts: Record<string, number>, key: string | number, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/**
 * Everything the fuzzer saw go wrong, in order. Each finding says on which surface, what, and
 * the frame that caused it (shortened), so that a report reads without the seed at hand.
 */
export class Findings {
  readonly list: string[] = [];

  add(surface: string, what: string, frame?: string | Buffer): void {
    const shown = frame === undefined ? '' : `\n    frame: ${shorten(frame)}`;
    this.list.push(`[${surface}] ${what}${shown}`);
  }

  get count(): number {
    return this.list.length;
  }

  /** Findings added since `mark` (a previous `count`). */
  since(mark: number): string[] {
    return this.list.slice(mark);
  }
}

/** At most `max` characters of a frame, with its length, for reports. */
export function shorten(frame: string | Buffer, max = 300): string {
  const text = typeof frame === 'string' ? frame : frame.toString('utf8', 0, max * 4);
  const length = typeof frame === 'string' ? frame.length : frame.length;
  const cut = text.length > max ? `${text.slice(0, max)}… (${length} ${typeof frame === 'string' ? 'chars' : 'bytes'})` : text;
  return JSON.stringify(cut);
}
