import { createHmac } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { AccountStore } from '../auth/accounts.js';
import { AppError } from '../shared/app-error.js';
import type { Clock } from '@heliograph/common';
import { statement, type Database } from '../storage/database.js';
import type { ApiCaller } from '../control-api/api-keys.js';

/** How long a console sign-in lasts. */
export const CONSOLE_SESSION_SECONDS = 8 * 3600;
const AUDIENCE = 'heliograph-console';

/**
 * Which built-in accounts have the admin role, kept in the database (`heliograph users role`);
 * a role goes with its account.
 */
export class AdminRoles {
  constructor(
    private readonly db: Database,
    readonly accounts: AccountStore,
    private readonly clock: Clock,
  ) {}

  /** Gives or takes away the admin role; false when there is no such account (or nothing changed on revoke). */
  setAdmin(username: string, admin: boolean): boolean {
    if (!admin) {
      return statement(this.db, 'DELETE FROM console_admins WHERE username = ?').run(username).changes > 0;
    }
    if (!this.accounts.list().some((a) => a.username === username)) {
      return false;
    }
    statement(this.db, 'INSERT OR IGNORE INTO console_admins (username, created_at) VALUES (?, ?)').run(username, this.clock.now());
    return true;
  }

  isAdmin(username: string): boolean {
    return statement(this.db, 'SELECT 1 FROM console_admins WHERE username = ?').get(username) !== undefined;
  }

  /** The admins, sorted. */
  list(): string[] {
    return (statement(this.db, 'SELECT username FROM console_admins ORDER BY username').all() as Array<{ username: string }>).map((r) => r.username);
  }
}

/**
 * Sign-ins of built-in admin accounts to the operator console: with their password they get a
 * session, with which they act as a read-write API key would, as `account:<username>` in the
 * audit lines.
 */
export class ConsoleAdmins {
  readonly #key: Uint8Array;

  constructor(
    private readonly roles: AdminRoles,
    private readonly clock: Clock,
    /** The node's signing secret; sessions are signed with a key derived from it, never the join tokens' key. */
    secret: string,
  ) {
    this.#key = createHmac('sha256', secret).update('heliograph console sessions').digest();
  }

  /** A console session for an admin whose password is right; UNAUTHORIZED for anyone else, alike. */
  async signIn(username: string, password: string): Promise<{ token: string; expiresAt: number }> {
    const account = await this.roles.accounts.verify(username, password);
    if (!account || !this.roles.isAdmin(account.username)) {
      throw new AppError('UNAUTHORIZED', 'invalid username or password, or not an admin');
    }
    const now = Math.floor(this.clock.now() / 1000);
    const exp = now + CONSOLE_SESSION_SECONDS;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(account.username)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.#key);
    return { token, expiresAt: exp * 1000 };
  }

  /** The caller of a console session token, or undefined (not one, expired, or no longer an admin). */
  async authenticate(token: string): Promise<ApiCaller | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.#key, { audience: AUDIENCE, algorithms: ['HS256'], currentDate: new Date(this.clock.now()) });
      const username = payload.sub;
      // The role is read at every call, so that taking it away takes effect at once.
      return username !== undefined && this.roles.isAdmin(username) ? { keyId: `account:${username}`, scope: 'read-write' } : undefined;
    } catch {
      return undefined;
    }
  }
}
