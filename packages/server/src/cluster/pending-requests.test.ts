import { describe, expect, it } from 'vitest';
import { AppError } from '../shared/app-error.js';
import { FakeClock } from '../shared/fake-clock.js';
import { PendingRequests } from './pending-requests.js';

describe('PendingRequests', () => {
  it('settles each request once: by its reply, its timeout, or its node’s loss', async () => {
    const clock = new FakeClock();
    const p = new PendingRequests(clock);
    const answered = p.open('B', 1000);
    const timedOut = p.open('B', 1000);
    const lostWith = p.open('C', 60_000);
    const other = p.open('D', 60_000);
    expect(answered.id).not.toBe(timedOut.id);
    p.resolve(answered.id, { ok: 1 });
    p.resolve(answered.id, { ok: 2 }); // a duplicate reply is ignored
    clock.advance(999);
    p.failNode('C', new AppError('UNAVAILABLE', 'C was lost'));
    clock.advance(1);
    await expect(answered.reply).resolves.toEqual({ ok: 1 });
    await expect(timedOut.reply).rejects.toMatchObject({ code: 'TIMEOUT' });
    await expect(lostWith.reply).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'C was lost' });
    expect(p.size).toBe(1);
    p.failAll(new AppError('UNAVAILABLE'));
    await expect(other.reply).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(p.size).toBe(0);
    expect(clock.pending).toBe(0); // no timer left behind
  });

  it('times a request out no sooner than its deadline and at most one slot (20 ms) after, with one timer per slot', async () => {
    const clock = new FakeClock();
    clock.advance(5);
    const p = new PendingRequests(clock);
    const requests = Array.from({ length: 100 }, () => p.open('B', 1000));
    let settled = 0;
    for (const r of requests) {
      r.reply.catch(() => settled++);
    }
    expect(clock.pending).toBe(1);
    clock.advance(999); // 1004: before the deadline
    await Promise.resolve();
    expect(settled).toBe(0);
    clock.advance(16); // 1020: the end of the deadline's slot
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(100);
    expect(clock.pending).toBe(0);
  });
});
