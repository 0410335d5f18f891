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
});
