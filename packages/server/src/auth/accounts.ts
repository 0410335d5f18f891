import { AppError } from '../shared/app-error.js';
import { ClockedStore } from '../storage/clocked-store.js';
import { statement } from '../storage/database.js';
import { hashPassword, verifyDummyPassword, verifyPassword } from './password.js';

export interface Account {
  username: string;
  displayName?: string;
  createdAt: number;
}

/** Usernames are case-sensitive: `Alice` and `alice` are two accounts. */
export const USERNAME_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;
export const USERNAME_MAX_LENGTH = 64;
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 1024;
const DISPLAY_NAME_MAX_LENGTH = 128;

interface UserRow {
  username: string;
  display_name: string | null;
  password_hash: string;
  created_at: number;
}

function toAccount(row: UserRow): Account {
  const account: Account = { username: row.username, createdAt: row.created_at };
  if (row.display_name !== null) {
    account.displayName = row.display_name;
  }
  return account;
}

/** Whether `username` has the allowed shape: 1–64 of letters, digits, `_ . @ -`. */
export function isValidUsername(username: string): boolean {
  return USERNAME_PATTERN.test(username);
}

function validate(username: string, password: string, displayName: string | undefined): void {
  if (!isValidUsername(username)) {
    throw new AppError('BAD_REQUEST', 'username must be 1 to 64 letters, digits or any of _ . @ -');
  }
  if (password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH) {
    throw new AppError('BAD_REQUEST', `password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`);
  }
  if (displayName !== undefined && (displayName.length < 1 || displayName.length > DISPLAY_NAME_MAX_LENGTH)) {
    throw new AppError('BAD_REQUEST', `display name must be 1 to ${DISPLAY_NAME_MAX_LENGTH} characters`);
  }
}

function isPrimaryKeyViolation(err: unknown): boolean {
  return (err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Built-in user accounts in SQLite; passwords hashed with scrypt. Usernames are case-sensitive. */
export class AccountStore extends ClockedStore {
  /** Throws AppError CONFLICT when the username is taken, BAD_REQUEST on a bad username/password. */
  async add(username: string, password: string, displayName?: string): Promise<Account> {
    validate(username, password, displayName);
    // Checked first to skip a pointless hash; the primary key still settles a race.
    if (this.get(username)) {
      throw new AppError('CONFLICT', 'username is taken');
    }
    const row: UserRow = {
      username,
      display_name: displayName ?? null,
      password_hash: await hashPassword(password),
      created_at: this.clock.now(),
    };
    try {
      statement(
        this.db,
        'INSERT INTO users (username, display_name, password_hash, created_at) VALUES (@username, @display_name, @password_hash, @created_at)',
      ).run(row);
    } catch (err) {
      if (isPrimaryKeyViolation(err)) {
        throw new AppError('CONFLICT', 'username is taken');
      }
      throw err;
    }
    return toAccount(row);
  }

  /** Deletes the account; false when there was none. */
  remove(username: string): boolean {
    return statement(this.db, 'DELETE FROM users WHERE username = ?').run(username).changes > 0;
  }

  /** Every account, sorted by username. */
  list(): Account[] {
    const rows = statement(this.db, 'SELECT * FROM users ORDER BY username').all() as UserRow[];
    return rows.map(toAccount);
  }

  /** The account, or null when there is none. */
  get(username: string): Account | null {
    const row = this.#row(username);
    return row ? toAccount(row) : null;
  }

  /** The account when the password matches, null otherwise (in time that does not reveal which). */
  async verify(username: string, password: string): Promise<Account | null> {
    const row = isValidUsername(username) ? this.#row(username) : undefined;
    if (!row) {
      await verifyDummyPassword(password);
      return null;
    }
    return (await verifyPassword(password, row.password_hash)) ? toAccount(row) : null;
  }

  #row(username: string): UserRow | undefined {
    return statement(this.db, 'SELECT * FROM users WHERE username = ?').get(username) as UserRow | undefined;
  }
}
