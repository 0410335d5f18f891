import { describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { KeyedRateLimiter } from './keyed-rate-limiter.js';

describe('KeyedRateLimiter', () => {
  it('keeps one bucket per key, shared by every caller naming it', () => {
    const clock = new FakeClock(0);
    const limiter = new KeyedRateLimiter({ perSecond: 10, burst: 2, clock, maxKeys: 100 });
    expect([limiter.take('alice'), limiter.take('alice'), limiter.take('alice')]).toEqual([true, true, false]);
    expect(limiter.take('bob')).toBe(true);
    expect(limiter.retryAfterMs('alice')).toBe(100);
    clock.advance(100);
    expect(limiter.take('alice')).toBe(true);
  });

  it('forgets refilled keys first and never holds more than maxKeys', () => {
    const clock = new FakeClock(0);
    const limiter = new KeyedRateLimiter({ perSecond: 1, burst: 1, clock, maxKeys: 3 });
    for (const key of ['a', 'b', 'c', 'd', 'e']) {
      limiter.take(key);
    }
    expect(limiter.size).toBe(3);
    // 'e' is still empty: the cap evicted the least recently used, not the most.
    expect(limiter.take('e')).toBe(false);
    clock.advance(1000);
    limiter.take('f');
    expect(limiter.size).toBe(1);
  });

  it('refund gives back one token, never above the burst', () => {
    const clock = new FakeClock(0);
    const limiter = new KeyedRateLimiter({ perSecond: 1, burst: 2, clock, maxKeys: 10 });
    expect([limiter.take('a'), limiter.take('a')]).toEqual([true, true]);
    limiter.refund('a');
    expect([limiter.take('a'), limiter.take('a')]).toEqual([true, false]);
    limiter.refund('a');
    limiter.refund('a');
    limiter.refund('a');
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([true, true, false]);
    limiter.refund('unknown');
    expect(limiter.size).toBe(1);
  });

  it('a held key shares its bucket with take(key) and is never forgotten while held', () => {
    const clock = new FakeClock(0);
    const limiter = new KeyedRateLimiter({ perSecond: 1, burst: 2, clock, maxKeys: 2 });
    const held = limiter.hold('alice');
    expect(held.take(clock.now())).toBe(true);
    expect(limiter.take('alice')).toBe(true);
    expect(held.take(clock.now())).toBe(false);
    expect(held.retryAfterMs()).toBe(1000);
    expect(limiter.retryAfterMs('alice')).toBe(1000);
    for (const key of ['b', 'c', 'd', 'e']) {
      limiter.take(key);
    }
    expect(limiter.size).toBe(3); // two remembered, one held
    expect(limiter.take('alice')).toBe(false);
  });

  it('a released key keeps its tokens; it is forgotten like any other only once every holder has let go', () => {
    const clock = new FakeClock(0);
    const limiter = new KeyedRateLimiter({ perSecond: 1, burst: 2, clock, maxKeys: 10 });
    const [a, b] = [limiter.hold('alice'), limiter.hold('alice')];
    expect([a.take(0), b.take(0)]).toEqual([true, true]);
    a.release();
    a.release();
    const c = limiter.hold('alice');
    expect(c.take(0)).toBe(false);
    b.release();
    expect(limiter.take('alice')).toBe(false);
    clock.advance(2000);
    limiter.take('bob');
    expect(limiter.size).toBe(2); // alice is still held by c
    c.release();
    clock.advance(2000);
    limiter.take('carol');
    expect(limiter.size).toBe(1); // alice and bob refilled and were forgotten
  });
});
