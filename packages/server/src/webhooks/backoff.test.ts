import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  it('doubles from the initial delay and stops at the cap', () => {
    const top = () => 1;
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, 1000, 10_000, top))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });
  it('spreads each delay over its upper half', () => {
    expect(backoffDelay(3, 1000, 60_000, () => 0)).toBe(2000);
    expect(backoffDelay(3, 1000, 60_000, () => 0.5)).toBe(3000);
  });
  it('survives absurd attempt numbers', () => {
    expect(backoffDelay(10_000, 1000, 300_000, () => 1)).toBe(300_000);
  });
});
