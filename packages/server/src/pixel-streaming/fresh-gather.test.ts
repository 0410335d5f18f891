import { describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { FreshGather } from './fresh-gather.js';

/** A gather whose runs the test finishes by hand. */
function manual() {
  const runs: Array<{ resolve: (n: number) => void }> = [];
  let count = 0;
  const gather = () =>
    new Promise<number>((resolve) => {
      count++;
      runs.push({ resolve });
    });
  return { runs, gather, started: () => count };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('FreshGather', () => {
  it('shares gathers between callers, and never answers with one that started before the call', async () => {
    const clock = new FakeClock(0);
    const m = manual();
    const gate = new FreshGather(m.gather, clock, 100);
    const first = gate.get();
    expect(m.started()).toBe(1);
    // Many callers while the first runs: they all wait for one more gather, not one each.
    const later = Array.from({ length: 50 }, () => gate.get());
    expect(m.started()).toBe(1);
    m.runs[0]!.resolve(1);
    expect(await first).toBe(1);
    await flush();
    // The next gather waits for its spacing (100 ms after the first started).
    expect(m.started()).toBe(1);
    clock.advance(100);
    await flush();
    expect(m.started()).toBe(2);
    m.runs[1]!.resolve(2);
    expect(new Set(await Promise.all(later))).toEqual(new Set([2]));
  });

  it('runs at once when idle past the spacing, and goes on after a failed gather', async () => {
    const clock = new FakeClock(0);
    let n = 0;
    const gate = new FreshGather(
      async () => {
        n++;
        if (n === 1) {
          throw new Error('a node is away');
        }
        return n;
      },
      clock,
      100,
    );
    await expect(gate.get()).rejects.toThrow('a node is away');
    clock.advance(150);
    expect(await gate.get()).toBe(2);
  });
});
