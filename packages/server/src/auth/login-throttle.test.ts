import { describe, expect, it } from 'vitest';
import { AppError } from '../shared/app-error.js';
import { FakeClock } from '../shared/fake-clock.js';
import { LoginThrottle } from './login-throttle.js';

function setup(overrides: { maxEntries?: number } = {}) {
  const clock = new FakeClock();
  const throttle = new LoginThrottle({ clock, maxFailuresPerUser: 3, maxFailuresPerAddress: 5, windowMs: 60_000, ...overrides });
  return { clock, throttle };
}

function rateLimit(fn: () => void): AppError | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
}

describe('LoginThrottle', () => {
  it('limits failures per username, across addresses', () => {
    const { clock, throttle } = setup();
    for (let i = 0; i < 3; i++) {
      expect(rateLimit(() => throttle.check('alice', `10.0.0.${i}`))).toBeUndefined();
      throttle.fail('alice', `10.0.0.${i}`);
      clock.advance(1000);
    }
    const err = rateLimit(() => throttle.check('alice', '10.0.0.99'));
    expect(err?.code).toBe('RATE_LIMITED');
    // The window started at the first failure, 3 s ago.
    expect(err?.extra.retryAfterMs).toBe(57_000);
    expect(rateLimit(() => throttle.check('bob', '10.0.0.99'))).toBeUndefined();
  });

  it('limits failures per address, across usernames', () => {
    const { throttle } = setup();
    for (let i = 0; i < 5; i++) {
      expect(rateLimit(() => throttle.check(`user${i}`, '10.0.0.1'))).toBeUndefined();
      throttle.fail(`user${i}`, '10.0.0.1');
    }
    expect(rateLimit(() => throttle.check('someone-new', '10.0.0.1'))?.code).toBe('RATE_LIMITED');
    expect(rateLimit(() => throttle.check('someone-new', '10.0.0.2'))).toBeUndefined();
  });

  it('forgets failures when the window ends', () => {
    const { clock, throttle } = setup();
    for (let i = 0; i < 3; i++) {
      throttle.fail('alice', '10.0.0.1');
    }
    clock.advance(59_999);
    expect(rateLimit(() => throttle.check('alice', '10.0.0.1'))?.extra.retryAfterMs).toBe(1);
    clock.advance(1);
    expect(rateLimit(() => throttle.check('alice', '10.0.0.1'))).toBeUndefined();
    expect(throttle.size).toEqual({ users: 0, addresses: 0 });
  });

  it('a success clears the user counter but not the address counter', () => {
    const { throttle } = setup();
    for (let i = 0; i < 3; i++) {
      throttle.fail('alice', '10.0.0.1');
    }
    throttle.succeed('alice');
    expect(rateLimit(() => throttle.check('alice', '10.0.0.1'))).toBeUndefined();
    throttle.fail('bob', '10.0.0.1');
    throttle.fail('bob', '10.0.0.1');
    expect(rateLimit(() => throttle.check('carol', '10.0.0.1'))?.code).toBe('RATE_LIMITED');
  });

  it('a success with an address takes back one attempt counted up front', () => {
    const { throttle } = setup();
    for (let i = 0; i < 5; i++) {
      throttle.fail(`user${i}`, '10.0.0.1');
      throttle.succeed(`user${i}`, '10.0.0.1');
    }
    expect(rateLimit(() => throttle.check('user9', '10.0.0.1'))).toBeUndefined();
    expect(throttle.size).toEqual({ users: 0, addresses: 0 });
  });

  it('keeps memory bounded, dropping the oldest entries', () => {
    const { clock, throttle } = setup({ maxEntries: 100 });
    for (let i = 0; i < 1000; i++) {
      throttle.fail(`user${i}`, `addr${i}`);
      clock.advance(1);
    }
    expect(throttle.size).toEqual({ users: 100, addresses: 100 });
    // The newest are kept.
    throttle.fail('user999', 'addr999');
    throttle.fail('user999', 'addr999');
    expect(rateLimit(() => throttle.check('user999', 'elsewhere'))?.code).toBe('RATE_LIMITED');
  });

  it('prunes expired entries', () => {
    const { clock, throttle } = setup();
    for (let i = 0; i < 50; i++) {
      throttle.fail(`user${i}`, `addr${i}`);
    }
    clock.advance(60_000);
    throttle.check('x', 'y');
    expect(throttle.size).toEqual({ users: 0, addresses: 0 });
  });
});
