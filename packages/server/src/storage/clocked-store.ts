import { systemClock, type Clock } from '@heliograph/common';
import type { Database } from './database.js';

/** A store over the node's SQLite database that stamps what it writes with its clock (a test may give its own). */
export abstract class ClockedStore {
  protected readonly clock: Clock;

  constructor(
    readonly db: Database,
    options: { clock?: Clock } = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }
}
