import { describe, expect, it } from 'vitest';
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
