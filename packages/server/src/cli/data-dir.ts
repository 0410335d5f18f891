import type { Config } from '../config/schema.js';
import { isInMemory } from '../storage/data-dir.js';
import { openDatabase, type Database } from '../storage/database.js';
import { CliError, USAGE_EXIT } from './command.js';

/**
 * The commands that change the server's database refuse `:memory:`: theirs would be a database
 * of their own, empty, and gone at exit. `holds` says what is missing: `accounts`, `API keys`.
 */
export function requireStoredData(config: Config, holds: string): void {
  if (isInMemory(config.dataDir)) {
    throw new CliError(`dataDir: :memory: holds no ${holds}, and any change would be lost at exit; give the server’s --data-dir`, USAGE_EXIT);
  }
}

/** Opens the database under dataDir for the length of one command. */
export async function withDatabase<T>(config: Config, holds: string, use: (db: Database) => Promise<T> | T): Promise<T> {
  requireStoredData(config, holds);
  const db = openDatabase(config.dataDir);
  try {
    return await use(db);
  } finally {
    db.close();
  }
}
