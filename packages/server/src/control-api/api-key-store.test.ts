import { describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { openDatabase, statement } from '../storage/database.js';
import { ApiKeyStore } from './api-key-store.js';
import { apiKeyDigest } from './key-digest.js';

describe('ApiKeyStore', () => {
  function store(): ApiKeyStore {
    return new ApiKeyStore(openDatabase(':memory:'), { clock: new FakeClock(1_700_000_000_000) });
  }

  it('makes an unguessable key, keeps only its digest, and lists id, scope and creation time', () => {
    const keys = store();
    const made = keys.create('read-write', 'backend');
    expect(made).toEqual({ id: 'backend', scope: 'read-write', createdAt: 1_700_000_000_000, key: expect.stringMatching(/^hgk_[A-Za-z0-9_-]{43}$/) });
    expect(keys.create('read').id).toMatch(/^key-[0-9a-f]{8}$/);
    expect(keys.list()).toEqual([
      { id: 'backend', scope: 'read-write', createdAt: 1_700_000_000_000 },
      { id: expect.stringMatching(/^key-/), scope: 'read', createdAt: 1_700_000_000_000 },
    ]);
    const stored = statement(keys.db, 'SELECT * FROM api_keys WHERE id = ?').get('backend') as Record<string, unknown>;
    expect(Object.values(stored).map(String).join(' ')).not.toContain(made.key.slice(4));
    expect(stored.key_hash).toEqual(apiKeyDigest(made.key));
    expect(keys.digests().find((d) => d.keyId === 'backend')).toEqual({ keyId: 'backend', scope: 'read-write', digest: apiKeyDigest(made.key) });
  });

  it('refuses a taken id and an id that is not a plain name', () => {
    const keys = store();
    keys.create('read', 'ops');
    expect(() => keys.create('read-write', 'ops')).toThrow(expect.objectContaining({ code: 'CONFLICT', message: 'there is already an API key with id "ops"' }));
    for (const id of ['', 'has space', 'x'.repeat(65), 'semi;colon']) {
      expect(() => keys.create('read', id)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    }
  });

  it('revokes by id, once', () => {
    const keys = store();
    keys.create('read', 'ops');
    expect(keys.revoke('ops')).toBe(true);
    expect(keys.revoke('ops')).toBe(false);
    expect(keys.list()).toEqual([]);
    expect(keys.digests()).toEqual([]);
  });
});
