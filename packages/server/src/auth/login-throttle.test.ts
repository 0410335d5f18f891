import { describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { AppError } from '../shared/app-error.js';
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.js';

function setup(overrides: Partial<LoginThrottleOptions> = {}) {
  const clock = new FakeClock();
  const throttle = new LoginThrottle({
    clock,
    maxFailuresPerUserAndAddress: 3,
    backoffMs: 1000,
    backoffMaxMs: 8000,
    maxFailuresPerAddress: 100,
    slowdownFailuresPerUser: 1000,
    maxSignupsPerAddress: 2,
    windowMs: 60_000,
    ...overrides,
  });
  return { clock, throttle };
}

/** The wait of a refused attempt, or 0 when the attempt was let through (and counted as a failure). */
function waitOf(throttle: LoginThrottle, username: string, address: string): number {
  try {
    throttle.begin(username, address);
    return 0;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('RATE_LIMITED');
    return (err as AppError).extra.retryAfterMs ?? -1;
  }
}

describe('LoginThrottle', () => {
  it('backs a (username, address) pair off after a few failures, doubling up to the cap', () => {
    const { clock, throttle } = setup();
    expect([1, 2, 3].map(() => waitOf(throttle, 'alice', '10.0.0.1'))).toEqual([0, 0, 0]);
    const waits = [];
    for (let i = 0; i < 6; i++) {
      const wait = waitOf(throttle, 'alice', '10.0.0.1');
      waits.push(wait);
      clock.advance(wait);
      expect(waitOf(throttle, 'alice', '10.0.0.1')).toBe(0);
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('never refuses another address on the same username, nor another username from the address', () => {
    const { throttle } = setup();
    for (let i = 0; i < 10; i++) {
      waitOf(throttle, 'alice', '10.0.0.66');
    }
    expect(waitOf(throttle, 'alice', '10.0.0.66')).toBeGreaterThan(0);
    expect(waitOf(throttle, 'alice', '10.0.0.1')).toBe(0);
    expect(waitOf(throttle, 'bob', '10.0.0.66')).toBe(0);
  });

  it('a success resets the pair and does not count against the address or the user', () => {
    const { throttle } = setup({ maxFailuresPerAddress: 3, slowdownFailuresPerUser: 2 });
    for (let i = 0; i < 10; i++) {
      throttle.begin('alice', '10.0.0.1').succeed();
    }
    // Neither the user's nor the address's budget was touched: no slowdown, no refusal.
    expect([1, 2].map(() => waitOf(throttle, 'alice', '10.0.0.1'))).toEqual([0, 0]);
    const attempt = throttle.begin('alice', '10.0.0.1');
    attempt.succeed();
    attempt.succeed();
    expect(throttle.pairs).toBe(0);
    // Two failures and a success: the address has one failure left, not zero (nor two).
    expect(waitOf(throttle, 'bob', '10.0.0.1')).toBe(0);
    expect(waitOf(throttle, 'carol', '10.0.0.1')).toBeGreaterThan(0);
  });

  it('limits failures per address across usernames, refilling over the window', () => {
    const { clock, throttle } = setup({ maxFailuresPerAddress: 5 });
    for (let i = 0; i < 5; i++) {
      expect(waitOf(throttle, `user${i}`, '10.0.0.1')).toBe(0);
    }
    // One failure comes back every window / 5.
    expect(waitOf(throttle, 'someone-new', '10.0.0.1')).toBe(12_000);
    expect(waitOf(throttle, 'someone-new', '10.0.0.2')).toBe(0);
    clock.advance(12_000);
    expect(waitOf(throttle, 'someone-new', '10.0.0.1')).toBe(0);
  });

  it('under a distributed attack on a username, failing addresses back off from their first failure', () => {
    const { throttle } = setup({ slowdownFailuresPerUser: 4 });
    for (let i = 0; i < 2; i++) {
      expect(waitOf(throttle, 'alice', `10.0.1.${i}`)).toBe(0);
      expect(waitOf(throttle, 'alice', `10.0.1.${i}`)).toBe(0);
    }
    // The budget is spent: one failure each from new addresses, then a backoff.
    for (let i = 10; i < 20; i++) {
      expect(waitOf(throttle, 'alice', `10.0.1.${i}`)).toBe(0);
      expect(waitOf(throttle, 'alice', `10.0.1.${i}`)).toBe(1000);
    }
    // Alice's own address has not failed: she goes in, and her success leaves nothing behind.
    const pairs = throttle.pairs;
    throttle.begin('alice', '192.168.7.7').succeed();
    expect(throttle.pairs).toBe(pairs);
    expect(waitOf(throttle, 'bob', '10.0.1.10')).toBe(0);
  });

  it('forgets a pair a window after its backoff ends', () => {
    const { clock, throttle } = setup();
    for (let i = 0; i < 3; i++) {
      waitOf(throttle, 'alice', '10.0.0.1');
    }
    clock.advance(1000 + 59_999);
    expect(throttle.pairs).toBe(1);
    waitOf(throttle, 'alice', '10.0.0.1');
    // That was the 4th failure: 2 s of backoff.
    expect(waitOf(throttle, 'alice', '10.0.0.1')).toBe(2000);
    clock.advance(2000 + 60_000);
    expect([1, 2, 3].map(() => waitOf(throttle, 'alice', '10.0.0.1'))).toEqual([0, 0, 0]);
  });

  it('keeps memory bounded, dropping the least recently failed pairs', () => {
    const { clock, throttle } = setup({ maxKeys: 100, maxFailuresPerUserAndAddress: 1 });
    for (let i = 0; i < 1000; i++) {
      waitOf(throttle, `user${i}`, `addr${i}`);
      clock.advance(1);
    }
    expect(throttle.pairs).toBe(100);
    expect(waitOf(throttle, 'user999', 'addr999')).toBeGreaterThan(0);
    expect(waitOf(throttle, 'user0', 'addr0')).toBe(0);
  });

  it('drops expired pairs as new ones come', () => {
    const { clock, throttle } = setup();
    for (let i = 0; i < 50; i++) {
      waitOf(throttle, `user${i}`, `addr${i}`);
    }
    clock.advance(60_000);
    waitOf(throttle, 'x', 'y');
    expect(throttle.pairs).toBe(1);
  });

  it('no username or address can make two pairs collide', () => {
    const { throttle } = setup({ maxFailuresPerUserAndAddress: 1 });
    waitOf(throttle, 'b', 'a\u0000');
    expect(waitOf(throttle, '\u0000b', 'a')).toBe(0);
  });

  it('limits sign-ups per address', () => {
    const { clock, throttle } = setup();
    throttle.signup('10.0.0.1');
    throttle.signup('10.0.0.1');
    expect(() => throttle.signup('10.0.0.1')).toThrow(expect.objectContaining({ code: 'RATE_LIMITED', extra: { retryAfterMs: 30_000 } }));
    throttle.signup('10.0.0.2');
    clock.advance(30_000);
    throttle.signup('10.0.0.1');
  });
});
