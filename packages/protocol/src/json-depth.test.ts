import { describe, expect, it } from 'vitest';
import { tooDeepAt } from './json-depth.js';

function nested(levels: number, leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) {
    value = i % 2 === 0 ? [value] : { k: value };
  }
  return value;
}

describe('tooDeepAt', () => {
  it('counts objects and arrays as one level each; scalars as none', () => {
    expect(tooDeepAt(1, 0)).toBeNull();
    expect(tooDeepAt('x', 0)).toBeNull();
    expect(tooDeepAt({}, 0)).toBe('/');
    expect(tooDeepAt({}, 1)).toBeNull();
    expect(tooDeepAt({ a: [] }, 1)).toBe('/a');
    expect(tooDeepAt({ a: [] }, 2)).toBeNull();
  });

  it('accepts exactly the limit and points at the first level past it', () => {
    expect(tooDeepAt(nested(32), 32)).toBeNull();
    expect(tooDeepAt({ ok: 1, 'a/b~': nested(32) }, 32)).toBe(`/a~1b~0${'/k/0'.repeat(15)}/k`);
  });

  it('walks a value far deeper than the stack allows without overflowing', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
    expect(tooDeepAt(deep, 32)).toBe(`/${Array(32).fill('0').join('/')}`);
  });

  it('finds the deep branch among wide shallow ones', () => {
    const wide = { list: Array.from({ length: 1000 }, (_, i) => ({ i })), deep: [[[[]]]] };
    expect(tooDeepAt(wide, 4)).toBe('/deep/0/0/0');
    expect(tooDeepAt(wide, 5)).toBeNull();
  });
});
