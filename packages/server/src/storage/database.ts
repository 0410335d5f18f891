import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { AppError } from '../shared/app-error.js';
import { dataDirError, isInMemory, prepareDataDir } from './data-dir.js';

export type Database = BetterSqlite3.Database;
export type Statement = BetterSqlite3.Statement;

/*
 * Node 24.19+ aborts the process when better-sqlite3 (before 13, which needs Node 22) finalises a
 * Database or Statement in an idle-time garbage collection (`Assertion failed: (env) != nullptr` in
 * `RemoveEnvironmentCleanupHook`). So none may ever be collected: every statement is prepared once
 * per database and kept (`statement()`), pragmas run through `exec`, and every database opened
 * stays referenced for the life of the process, even after `close()`. A server opens one.
 */
const retained: Database[] = [];
const statements = new WeakMap<Database, Map<string, Statement>>();

/** The prepared statement for `sql` on `db`, prepared once and kept with the database. */
export function statement(db: Database, sql: string): Statement {
  let cache = statements.get(db);
  if (!cache) {
    cache = new Map();
    statements.set(db, cache);
  }
  let prepared = cache.get(sql);
  if (!prepared) {
    prepared = db.prepare(sql);
    cache.set(sql, prepared);
  }
  return prepared;
}

/** Opens a better-sqlite3 database that will never be garbage collected (see above). */
export function openRetained(file: string, options?: BetterSqlite3.Options): Database {
  const db = new BetterSqlite3(file, options);
  retained.push(db);
  return db;
}

/**
 * Schema migrations, applied in order. `PRAGMA user_version` records how many have run, so only
 * append to this list: never edit or reorder an entry that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE users (
     username      TEXT PRIMARY KEY,
     display_name  TEXT,
     password_hash TEXT NOT NULL,
     created_at    INTEGER NOT NULL
   ) STRICT`,
  // The webhook outbox (webhooks/outbox.ts): events wait here until delivered (then deleted) or dead.
  `CREATE TABLE webhook_events (
     position   INTEGER PRIMARY KEY AUTOINCREMENT,
     id         TEXT NOT NULL UNIQUE,
     type       TEXT NOT NULL,
     room       TEXT NOT NULL,
     room_seq   INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     body       TEXT NOT NULL,
     state      TEXT NOT NULL CHECK (state IN ('pending', 'dead')),
     attempts   INTEGER NOT NULL DEFAULT 0,
     next_at    INTEGER NOT NULL,
     last_error TEXT
   ) STRICT;
   CREATE INDEX webhook_events_queue ON webhook_events (state, room, position);
   CREATE TABLE webhook_room_seq (
     room TEXT PRIMARY KEY,
     seq  INTEGER NOT NULL
   ) STRICT`,
  // What this node has announced as open (webhooks/open-rooms.ts), closed for the backend on restart.
  `CREATE TABLE webhook_open_rooms (
     room TEXT PRIMARY KEY,
     body TEXT NOT NULL
   ) STRICT;
   CREATE TABLE webhook_open_peers (
     room TEXT NOT NULL,
     peer TEXT NOT NULL,
     body TEXT NOT NULL,
     PRIMARY KEY (room, peer)
   ) STRICT`,
  // Control API keys made with `heliograph keys create` (control-api/api-key-store.ts): only a digest of each.
  `CREATE TABLE api_keys (
     id         TEXT PRIMARY KEY,
     scope      TEXT NOT NULL CHECK (scope IN ('read', 'read-write')),
     key_hash   BLOB NOT NULL UNIQUE,
     created_at INTEGER NOT NULL
   ) STRICT`,
  // Built-in accounts that may sign in to the operator console (admin/console-admins.ts); gone with the account.
  `CREATE TABLE console_admins (
     username   TEXT PRIMARY KEY,
     created_at INTEGER NOT NULL
   ) STRICT;
   CREATE TRIGGER console_admins_follow_users AFTER DELETE ON users
   BEGIN
     DELETE FROM console_admins WHERE username = OLD.username;
   END`,
];

/**
 * Opens (creating when needed) the SQLite database `heliograph.db` under `dataDir`, with WAL
 * journaling, and brings its schema up to date. `':memory:'` as dataDir gives an in-memory one.
 * A directory or database file that cannot be used throws a StartupError naming `dataDir`.
 */
export function openDatabase(dataDir: string): Database {
  let db: Database;
  if (isInMemory(dataDir)) {
    db = openRetained(':memory:');
  } else {
    prepareDataDir(dataDir);
    const file = join(dataDir, 'heliograph.db');
    try {
      db = openRetained(file);
      db.exec('PRAGMA journal_mode = WAL');
    } catch (err) {
      throw dataDirError(`cannot open the database ${file}`, err);
    }
    // WAL makes NORMAL durable across application crashes; only a power loss may drop the last commits.
    db.exec('PRAGMA synchronous = NORMAL');
  }
  // Another process (a CLI command next to a running server) may hold the write lock briefly.
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec('PRAGMA foreign_keys = ON');
  try {
    migrate(db, MIGRATIONS);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Runs the migrations `db` has not seen yet, each in its own write transaction. */
export function migrate(db: Database, migrations: readonly string[]): void {
  for (;;) {
    // IMMEDIATE takes the write lock before reading the version, so two processes opening the
    // same new database cannot both run the same migration.
    const ran = db
      .transaction(() => {
        const version = statement(db, 'PRAGMA user_version').pluck().get() as number;
        if (version > migrations.length) {
          throw new AppError('INTERNAL', `database schema version ${version} is newer than this Heliograph (${migrations.length}); upgrade Heliograph`);
        }
        const next = migrations[version];
        if (next === undefined) {
          return false;
        }
        db.exec(next);
        db.exec(`PRAGMA user_version = ${version + 1}`);
        return true;
      })
      .immediate();
    if (!ran) {
      return;
    }
  }
}
