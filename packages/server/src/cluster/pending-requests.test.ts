import { describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { AppError } from '../shared/app-error.js';
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

  // The slots of deadlines (one timer per 20 ms slot) are the shared tracker's: see packages/common/src/request-tracker.test.ts.

  it('takes an answer only from the node asked, by the id sent on the wire', async () => {
    const p = new PendingRequests(new FakeClock());
    const { id, reply } = p.open('B', 1000);
    expect(id).toBe('1');
    p.resolveFrom('C', id, 'from C'); // another node: ignored
    p.failFrom('C', id, new AppError('INTERNAL'));
    p.resolveFrom('B', `0${id}`, 'not an id we sent');
    expect(p.has(id)).toBe(true);
    p.resolveFrom('B', id, 'from B');
    await expect(reply).resolves.toBe('from B');
    const failed = p.open('B', 1000);
    p.failFrom('B', failed.id, new AppError('FORBIDDEN', 'no'));
    await expect(failed.reply).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('counts the requests in flight through each inbox and tells when one drains', async () => {
    const clock = new FakeClock();
    const p = new PendingRequests(clock);
    const drained: string[] = [];
    p.onInboxDrained = (to) => drained.push(to);
    const first = p.open('B', 1000);
    const held = p.open('B', 1000, 'held');
    const viaLink = p.open('B', 1000, 'link');
    expect(p.inboxInFlight('B')).toBe(1);
    p.setVia(held.id, 'inbox'); // the link went down: the held request goes through the inbox
    expect(p.inboxInFlight('B')).toBe(2);
    p.resolve(first.id, 1);
    expect(drained).toEqual([]);
    clock.advance(1020); // the other one times out
    expect(drained).toEqual(['B']);
    expect(p.inboxInFlight('B')).toBe(0);
    await expect(held.reply).rejects.toMatchObject({ code: 'TIMEOUT', message: 'Node B did not answer within 1000 ms' });
    await expect(viaLink.reply).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('fails only the requests of a lost link when asked for one path', async () => {
    const p = new PendingRequests(new FakeClock());
    const viaInbox = p.open('B', 1000);
    const viaLink = p.open('B', 1000, 'link');
    p.failNode('B', new AppError('UNAVAILABLE', 'link lost'), 'link');
    await expect(viaLink.reply).rejects.toMatchObject({ message: 'link lost' });
    expect(p.has(viaInbox.id)).toBe(true);
  });
});
