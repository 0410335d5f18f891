import { accessSync, constants, mkdirSync } from 'node:fs';
import { describeSystemError, StartupError } from '../shared/startup-error.js';

/** The `dataDir` that keeps nothing on disk: an in-memory database and a secret that dies with the process. */
export const IN_MEMORY = ':memory:';

export function isInMemory(dataDir: string): boolean {
  return dataDir === IN_MEMORY;
}

const FIX = 'set --data-dir to a directory this user can create and write, or to :memory: to keep nothing on disk';

/** A failure to use the data directory, as the one line the CLI prints. */
export function dataDirError(problem: string, cause: unknown): StartupError {
  return new StartupError('dataDir', `${problem}: ${describeSystemError(cause)}`, FIX, { cause });
}

/**
 * Creates `dataDir` (mode 0700) when it is missing and checks that this process may create files
 * in it, so that a bad directory is reported as such rather than as a SQLite or `open()` error.
 */
export function prepareDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw dataDirError(`cannot create ${dataDir}`, err);
  }
  try {
    accessSync(dataDir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw dataDirError(`cannot write in ${dataDir}`, err);
  }
}
