import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { openDatabase, statement, type Database } from '../storage/database.js';
import { AccountStore } from './accounts.js';

describe('AccountStore', () => {
  let db: Database;
  let clock: FakeClock;
  let store: AccountStore;

  beforeEach(() => {
    db = openDatabase(':memory:');
    clock = new FakeClock();
    store = new AccountStore(db, { clock });
  });
  afterEach(() => db.close());

  it('adds, lists and removes accounts', async () => {
    const bob = await store.add('bob', 'password-b');
    clock.advance(1000);
    const alice = await store.add('alice@example.com', 'password-a', 'Alice');
    expect(bob).toEqual({ username: 'bob', createdAt: clock.now() - 1000 });
    expect(alice).toEqual({ username: 'alice@example.com', displayName: 'Alice', createdAt: clock.now() });
    expect(store.list()).toEqual([alice, bob]);
    expect(store.get('bob')).toEqual(bob);
    expect(store.remove('bob')).toBe(true);
    expect(store.remove('bob')).toBe(false);
    expect(store.list()).toEqual([alice]);
    expect(store.get('bob')).toBeNull();
  });

  it('stores a hash, never the password', async () => {
    await store.add('carol', 'super-secret-pw');
    const row = statement(db, 'SELECT password_hash FROM users').get() as { password_hash: string };
    expect(row.password_hash).toMatch(/^scrypt\$/);
    expect(row.password_hash).not.toContain('super-secret-pw');
  });

  it('verifies passwords', async () => {
    await store.add('dave', 'password-d', 'Dave');
    expect(await store.verify('dave', 'password-d')).toMatchObject({ username: 'dave', displayName: 'Dave' });
    expect(await store.verify('dave', 'password-x')).toBeNull();
    expect(await store.verify('nobody', 'password-d')).toBeNull();
    expect(await store.verify('not a valid name!', 'password-d')).toBeNull();
  });

  it('is case-sensitive about usernames', async () => {
    await store.add('Erin', 'password-e');
    await store.add('erin', 'password-f');
    expect(await store.verify('ERIN', 'password-e')).toBeNull();
    expect(store.list().map((a) => a.username)).toEqual(['Erin', 'erin']);
  });

  it('refuses a taken username with CONFLICT, even when racing', async () => {
    await store.add('frank', 'password-1');
    await expect(store.add('frank', 'password-2')).rejects.toMatchObject({ code: 'CONFLICT' });
    const results = await Promise.allSettled([store.add('gina', 'password-1'), store.add('gina', 'password-2')]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'CONFLICT' } });
  });

  it.each([
    ['', 'password-1', undefined],
    ['x'.repeat(65), 'password-1', undefined],
    ['has space', 'password-1', undefined],
    ['slash/name', 'password-1', undefined],
    ['ok', 'short', undefined],
    ['ok', 'x'.repeat(1025), undefined],
    ['ok', 'password-1', ''],
    ['ok', 'password-1', 'x'.repeat(129)],
  ])('refuses username %j / password / display name %j with BAD_REQUEST', async (username, password, displayName) => {
    await expect(store.add(username, password, displayName)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(store.list()).toEqual([]);
  });

  it('accepts the edges of the rules', async () => {
    await store.add('a', '12345678');
    await store.add('x'.repeat(64), 'p'.repeat(1024));
    await store.add('A-z_0.9@x', 'password-1');
    expect(store.list()).toHaveLength(3);
  });
});
