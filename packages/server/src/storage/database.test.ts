import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate, openDatabase, statement } from './database.js';

describe('openDatabase', () => {
  const dirs: string[] = [];
  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'heliograph-db-'));
    dirs.push(dir);
    return dir;
  }
  afterEach(() => {
    for (const dir of dirs.splice(0)) {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates the directory and a WAL database with the current schema', () => {
    const dir = join(tempDir(), 'nested', 'data');
    const db = openDatabase(dir);
    expect(statSync(join(dir, 'heliograph.db')).isFile()).toBe(true);
    expect(statement(db, 'PRAGMA journal_mode').pluck().get()).toBe('wal');
    expect(statement(db, 'PRAGMA user_version').pluck().get()).toBe(MIGRATIONS.length);
    const columns = (statement(db, 'PRAGMA table_info(users)').all() as { name: string }[]).map((c) => c.name);
    expect(columns).toEqual(['username', 'display_name', 'password_hash', 'created_at']);
    db.close();
  });

  it('names dataDir, the path and the cause when the directory or the database cannot be used', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), '');
    expect(() => openDatabase(join(dir, 'file'))).toThrow(/^dataDir: cannot create .*\/file: a file is in the way \(EEXIST\); set --data-dir/);
    mkdirSync(join(dir, 'blocked', 'heliograph.db'), { recursive: true });
    expect(() => openDatabase(join(dir, 'blocked'))).toThrow(
      /^dataDir: cannot open the database .*\/blocked\/heliograph\.db: unable to open database file; set --data-dir/,
    );
    writeFileSync(join(dir, 'heliograph.db'), 'not a database, '.repeat(100));
    expect(() => openDatabase(dir)).toThrow(/^dataDir: cannot open the database .*: file is not a database; /);
  });

  it('keeps data and does not rerun migrations on reopen', () => {
    const dir = tempDir();
    const first = openDatabase(dir);
    statement(first, "INSERT INTO users VALUES ('u', NULL, 'h', 1)").run();
    first.close();
    const second = openDatabase(dir);
    expect(statement(second, 'SELECT count(*) AS n FROM users').get()).toEqual({ n: 1 });
    second.close();
  });

  it('opens an in-memory database', () => {
    const db = openDatabase(':memory:');
    expect(db.memory).toBe(true);
    expect(statement(db, 'PRAGMA user_version').pluck().get()).toBe(MIGRATIONS.length);
    db.close();
  });

  it('applies only the migrations not yet run', () => {
    const db = openDatabase(':memory:');
    migrate(db, [...MIGRATIONS, 'CREATE TABLE extra (x INTEGER)']);
    expect(statement(db, 'PRAGMA user_version').pluck().get()).toBe(MIGRATIONS.length + 1);
    expect(() => migrate(db, [...MIGRATIONS, 'CREATE TABLE extra (x INTEGER)'])).not.toThrow();
    db.close();
  });

  it('refuses a database from a newer version', () => {
    const dir = tempDir();
    const db = openDatabase(dir);
    db.exec(`PRAGMA user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => openDatabase(dir)).toThrow(/newer than this Heliograph/);
  });
});
