import { describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock.js';

describe('FakeClock', () => {
  it('fires timers in time order as time advances, intervals repeatedly', () => {
    const clock = new FakeClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@20'), 20);
    clock.setTimeout(() => fired.push('a@10'), 10);
    const every = clock.setInterval(() => fired.push(`i@${clock.now()}`), 15);
    const cancelled = clock.setTimeout(() => fired.push('never'), 5);
    clock.clearTimeout(cancelled);
    clock.advance(30);
    expect(fired).toEqual(['a@10', 'i@15', 'b@20', 'i@30']);
    expect(clock.now()).toBe(30);
    clock.clearInterval(every);
    clock.advance(100);
    expect(fired).toHaveLength(4);
    expect(clock.pending).toBe(0);
  });

  it('starts at a fixed date by default, and tells the delays of the timers still pending', () => {
    expect(new FakeClock().now()).toBe(Date.UTC(2026, 0, 1));
    const clock = new FakeClock(0);
    clock.setTimeout(() => undefined, 300);
    clock.setInterval(() => undefined, 100);
    clock.advance(50);
    expect(clock.pendingDelays()).toEqual([50, 250]);
  });
});
