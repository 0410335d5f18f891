import type { Database } from '../storage/database.js';

export interface Account {
  username: string;
  displayName?: string;
  createdAt: number;
}

/** Built-in user accounts in SQLite; passwords hashed with scrypt. */
export class AccountStore {
  constructor(readonly db: Database) {}
  /** Throws AppError CONFLICT when the username is taken, BAD_REQUEST on a bad username/password. */
  add(username: string, password: string, displayName?: string): Promise<Account> {
    throw new Error(`not implemented ${username}${password}${displayName}`);
  }
  remove(username: string): boolean {
    throw new Error(`not implemented ${username}`);
  }
  list(): Account[] {
    throw new Error('not implemented');
  }
  /** The account when the password matches, null otherwise (in time that does not reveal which). */
  verify(username: string, password: string): Promise<Account | null> {
    throw new Error(`not implemented ${username}${password}`);
  }
}
