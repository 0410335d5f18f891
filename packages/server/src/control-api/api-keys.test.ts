import { describe, expect, it } from 'vitest';
import { openDatabase } from '../storage/database.js';
import { ApiKeyStore } from './api-key-store.js';
import { ApiKeys } from './api-keys.js';

describe('ApiKeys', () => {
  const keys = new ApiKeys([
    { id: 'ops', key: 'k'.repeat(40), scope: 'read-write' },
    { id: 'dash', key: 'd'.repeat(40), scope: 'read' },
  ]);
  it('finds the key and its scope', () => {
    expect(keys.authenticate('k'.repeat(40))).toEqual({ keyId: 'ops', scope: 'read-write' });
    expect(keys.authenticate('d'.repeat(40))).toEqual({ keyId: 'dash', scope: 'read' });
  });
  it('refuses near misses, prefixes and the empty string', () => {
    expect(keys.authenticate('k'.repeat(39))).toBeUndefined();
    expect(keys.authenticate(`${'k'.repeat(40)}x`)).toBeUndefined();
    expect(keys.authenticate('')).toBeUndefined();
  });
  it('with no keys, refuses everything', () => {
    expect(new ApiKeys([]).authenticate('k'.repeat(40))).toBeUndefined();
  });
});

describe('ApiKeys with stored keys', () => {
  it('accepts configured and stored keys alike, and a revoked key from the next call on', () => {
    const store = new ApiKeyStore(openDatabase(':memory:'));
    const keys = new ApiKeys([{ id: 'ops', key: 'k'.repeat(40), scope: 'read-write' }], store);
    const made = store.create('read', 'dash');
    expect(keys.count()).toEqual({ configured: 1, stored: 1 });
    expect(keys.authenticate(made.key)).toEqual({ keyId: 'dash', scope: 'read' });
    expect(keys.authenticate('k'.repeat(40))).toEqual({ keyId: 'ops', scope: 'read-write' });
    expect(keys.authenticate(made.key.slice(0, -1))).toBeUndefined();
    store.revoke('dash');
    expect(keys.authenticate(made.key)).toBeUndefined();
    expect(keys.count()).toEqual({ configured: 1, stored: 0 });
  });
});
