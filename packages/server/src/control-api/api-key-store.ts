import { randomBytes } from 'node:crypto';
import { AppError } from '../shared/app-error.js';
import { ClockedStore } from '../storage/clocked-store.js';
import { statement } from '../storage/database.js';
import { apiKeyDigest, type ApiKeyScope, type KeyDigest } from './key-digest.js';

/** Ids of stored keys: they are typed on command lines and named in logs. */
export const API_KEY_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Stored keys start with this, so that a leaked one is recognisable (secret scanners, logs). */
export const API_KEY_PREFIX = 'hgk_';

/** A stored key as listed: never the key itself, which is not kept. */
export interface StoredApiKey {
  id: string;
  scope: ApiKeyScope;
  createdAt: number;
}

/** A key just made: the only moment the key is known. */
export interface CreatedApiKey extends StoredApiKey {
  key: string;
}

interface KeyRow {
  id: string;
  scope: ApiKeyScope;
  key_hash: Buffer;
  created_at: number;
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/**
 * Control API keys kept in the node's SQLite database (`heliograph keys …`), beside those of
 * `controlApi.keys`. A key is 32 random bytes; only its SHA-256 digest is stored, which suffices
 * for a secret that cannot be guessed (unlike a password, it needs no slow hash).
 */
export class ApiKeyStore extends ClockedStore {
  /** Makes a key; BAD_REQUEST on a malformed id, CONFLICT when the id is taken. */
  create(scope: ApiKeyScope, id = `key-${randomBytes(4).toString('hex')}`): CreatedApiKey {
    if (!API_KEY_ID_PATTERN.test(id)) {
      throw new AppError('BAD_REQUEST', 'an API key id must be 1 to 64 letters, digits or any of _ . -');
    }
    const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const row: KeyRow = { id, scope, key_hash: apiKeyDigest(key), created_at: this.clock.now() };
    try {
      statement(this.db, 'INSERT INTO api_keys (id, scope, key_hash, created_at) VALUES (@id, @scope, @key_hash, @created_at)').run(row);
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new AppError('CONFLICT', `there is already an API key with id ${JSON.stringify(id)}`);
      }
      throw err;
    }
    return { id, scope, createdAt: row.created_at, key };
  }

  /** Every stored key, by id. */
  list(): StoredApiKey[] {
    const rows = statement(this.db, 'SELECT * FROM api_keys ORDER BY id').all() as KeyRow[];
    return rows.map((row) => ({ id: row.id, scope: row.scope, createdAt: row.created_at }));
  }

  /** Deletes the key, which stops working on the next request; false when there was none. */
  revoke(id: string): boolean {
    return statement(this.db, 'DELETE FROM api_keys WHERE id = ?').run(id).changes > 0;
  }

  /**
   * The digests as they are now. Read on every control API request, so that a key made or
   * revoked by another process (the CLI beside a running server) counts from the next request.
   */
  digests(): KeyDigest[] {
    const rows = statement(this.db, 'SELECT id, scope, key_hash FROM api_keys').all() as KeyRow[];
    return rows.map((row) => ({ keyId: row.id, scope: row.scope, digest: row.key_hash }));
  }
}
