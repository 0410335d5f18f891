import { describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock.js';
import { RequestTracker } from './request-tracker.js';

const flush = () => new Promise((r) => setImmediate(r));

function tracker(clock: FakeClock, options: { slotMs?: number; onSettled?: (to: string) => void } = {}) {
  return new RequestTracker<string>({
    clock,
    timeoutError: (to, ms) => new Error(`${to}: no answer within ${ms} ms`),
    slotMs: options.slotMs,
    onSettled: options.onSettled,
  });
}

describe('RequestTracker', () => {
  it('settles each request once: by its answer, its failure or its timeout', async () => {
    const clock = new FakeClock(0);
    const settled: string[] = [];
    const t = tracker(clock, { onSettled: (to) => settled.push(to) });
    const answered = t.open(1000, () => 'A');
    const failed = t.open(1000, () => 'B');
    const timedOut = t.open(1000, () => 'C');
    expect(t.resolve(answered.id, 'ok')).toBe(true);
    expect(t.resolve(answered.id, 'again')).toBe(false); // a duplicate answer is ignored
    expect(t.reject(failed.id, new Error('refused'))).toBe(true);
    expect(clock.pendingDelays()).toEqual([1000]);
    clock.advance(999);
    expect(t.has(timedOut.id)).toBe(true);
    clock.advance(1);
    expect(t.resolve(timedOut.id, 'too late')).toBe(false);
    await expect(answered.result).resolves.toBe('ok');
    await expect(failed.result).rejects.toThrow('refused');
    await expect(timedOut.result).rejects.toThrow('C: no answer within 1000 ms');
    expect(settled).toEqual(['A', 'B', 'C']);
    expect(t.size).toBe(0);
    expect(clock.pending).toBe(0); // no timer left behind
  });

  it('counts ids up from 1, never reusing one, and keeps what describe(id) made with each', () => {
    const t = tracker(new FakeClock(0));
    const first = t.open(1000, (id) => `frame ${id}`);
    t.resolve(first.id, undefined);
    const second = t.open(1000, (id) => `frame ${id}`);
    const third = t.open(1000, (id) => `frame ${id}`);
    expect([first.id, second.id, third.id]).toEqual([1, 2, 3]);
    expect(third.meta).toBe('frame 3');
    expect(t.meta(second.id)).toBe('frame 2');
    expect(t.meta(first.id)).toBeUndefined();
    expect(t.metas()).toEqual(['frame 2', 'frame 3']);
  });

  it('times a request out no sooner than its deadline and at most one slot after, with one timer per slot', async () => {
    const clock = new FakeClock(5);
    const t = tracker(clock, { slotMs: 20 });
    const requests = Array.from({ length: 100 }, () => t.open(1000, () => 'B'));
    let settled = 0;
    for (const r of requests) {
      r.result.catch(() => settled++);
    }
    expect(clock.pending).toBe(1);
    clock.advance(999); // 1004: before the deadline
    await flush();
    expect(settled).toBe(0);
    clock.advance(16); // 1020: the end of the deadline's slot
    await flush();
    expect(settled).toBe(100);
    expect(clock.pending).toBe(0);
  });

  it('rejects all requests, or those whose meta matches, and goes on', async () => {
    const clock = new FakeClock(0);
    const t = tracker(clock);
    const toB = t.open(1000, () => 'B');
    const toC = t.open(1000, () => 'C');
    t.rejectAll(new Error('B lost'), (to) => to === 'B');
    await expect(toB.result).rejects.toThrow('B lost');
    expect(t.has(toC.id)).toBe(true);
    t.rejectAll(new Error('all lost'));
    await expect(toC.result).rejects.toThrow('all lost');
    const later = t.open(1000, () => 'D');
    t.resolve(later.id, 1);
    await expect(later.result).resolves.toBe(1);
  });

  it('does not reject a request opened while rejecting the others', async () => {
    const clock = new FakeClock(0);
    let reopened: { result: Promise<unknown>; id: number } | undefined;
    const t: RequestTracker<string> = tracker(clock, { onSettled: (to) => (reopened ??= t.open(1000, () => `${to} again`)) });
    const first = t.open(1000, () => 'B');
    t.rejectAll(new Error('lost'));
    await expect(first.result).rejects.toThrow('lost');
    expect(reopened && t.has(reopened.id)).toBe(true);
  });

  it('on close rejects every request waiting and every later one, once', async () => {
    const clock = new FakeClock(0);
    const settled: string[] = [];
    const t = tracker(clock, { onSettled: (to) => settled.push(to) });
    const waiting = t.open(1000, () => 'A');
    t.close(new Error('closing'));
    t.close(new Error('again'));
    await expect(waiting.result).rejects.toThrow('closing');
    await expect(t.open(1000, () => 'B').result).rejects.toThrow('closing');
    expect(settled).toEqual(['A']);
    expect(t.size).toBe(0);
    expect(clock.pending).toBe(0);
  });
});
