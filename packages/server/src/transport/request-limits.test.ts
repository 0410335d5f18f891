import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../shared/fake-clock.js';
import { keyedLimiter, PsRequestLimits, RequestQuota } from './request-limits.js';

describe('RequestQuota', () => {
  it('shares one user bucket between the quotas of that user', () => {
    const clock = new FakeClock();
    const users = keyedLimiter({ perSecond: 10, burst: 3 }, clock);
    const a = new RequestQuota({ limiter: users, key: 'alice' }, undefined);
    const b = new RequestQuota({ limiter: users, key: 'alice' }, undefined);
    const other = new RequestQuota({ limiter: users, key: 'bob' }, undefined);
    expect([a.take(), b.take(), a.take(), b.take()]).toEqual([true, true, true, false]);
    expect(b.retryAfterMs()).toBe(100);
    expect(other.take()).toBe(true);
    clock.advance(100);
    expect(a.take()).toBe(true);
  });

  it('takes from the address only what the user may send, and says which bucket refused', () => {
    const clock = new FakeClock();
    const users = keyedLimiter({ perSecond: 10, burst: 2 }, clock);
    const addresses = keyedLimiter({ perSecond: 4, burst: 3 }, clock);
    const alice = new RequestQuota({ limiter: users, key: 'alice' }, { limiter: addresses, key: '203.0.113.7' });
    const bob = new RequestQuota({ limiter: users, key: 'bob' }, { limiter: addresses, key: '203.0.113.7' });
    // Alice's refused requests leave the address's budget alone: Bob still gets one.
    expect([alice.take(), alice.take(), alice.take(), alice.take()]).toEqual([true, true, false, false]);
    expect(alice.retryAfterMs()).toBe(100); // her own bucket at 10/s
    expect([bob.take(), bob.take()]).toEqual([true, false]);
    expect(bob.retryAfterMs()).toBe(250); // the address's bucket at 4/s
  });

  it('with no shares it never refuses', () => {
    const quota = new RequestQuota(undefined, undefined);
    expect(quota.take()).toBe(true);
    expect(quota.retryAfterMs()).toBe(0);
  });
});

describe('PsRequestLimits', () => {
  const settings = { userMessagesPerSecond: 1, userMessageBurst: 2, addressMessagesPerSecond: 1, addressMessageBurst: 3 };
  const req = (address: string) => ({ socket: { remoteAddress: address } }) as unknown as IncomingMessage;

  it('counts players and streamers from one address apart', () => {
    const limits = new PsRequestLimits(settings, new FakeClock(), (r) => r.socket.remoteAddress ?? '');
    const players = [limits.forSocket(true, req('10.0.0.1'), undefined), limits.forSocket(true, req('10.0.0.1'), undefined)];
    expect([players[0]!.take(), players[1]!.take(), players[0]!.take(), players[1]!.take()]).toEqual([true, true, true, false]);
    const streamer = limits.forSocket(false, req('10.0.0.1'), undefined);
    expect([streamer.take(), streamer.take(), streamer.take(), streamer.take()]).toEqual([true, true, true, false]);
  });

  it('holds a player identity to its user rate on any address', () => {
    const limits = new PsRequestLimits(settings, new FakeClock(), (r) => r.socket.remoteAddress ?? '');
    const home = limits.forSocket(true, req('10.0.0.1'), 'alice');
    const phone = limits.forSocket(true, req('10.0.0.2'), 'alice');
    expect([home.take(), phone.take(), phone.take()]).toEqual([true, true, false]);
  });
});
