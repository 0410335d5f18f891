import type BetterSqlite3 from 'better-sqlite3';

export type Database = BetterSqlite3.Database;

/**
 * Opens (creating when needed) the SQLite database `heliograph.db` under `dataDir`, with WAL
 * journaling, and brings its schema up to date. `':memory:'` as dataDir gives an in-memory one.
 */
export function openDatabase(dataDir: string): Database {
  throw new Error(`not implemented: openDatabase(${dataDir})`);
}
