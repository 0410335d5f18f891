import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { keyedLimiter, PsRequestLimits, RequestQuota } from './request-limits.js';

describe('RequestQuota', () => {
  it('shares one user bucket between the quotas of that user', () => {
    const clock = new FakeClock();
    const users = keyedLimiter({ perSecond: 10, burst: 3 }, clock);
    const a = new RequestQuota(users.hold('alice'), undefined);
    const b = new RequestQuota(users.hold('alice'), undefined);
    const other = new RequestQuota(users.hold('bob'), undefined);
    const now = clock.now();
    expect([a.take(now), b.take(now), a.take(now), b.take(now)]).toEqual([true, true, true, false]);
    expect(b.retryAfterMs()).toBe(100);
    expect(other.take(now)).toBe(true);
    expect(a.take(now + 100)).toBe(true);
  });

  it('takes from the address only what the user may send, and says which bucket refused', () => {
    const clock = new FakeClock();
    const users = keyedLimiter({ perSecond: 10, burst: 2 }, clock);
    const addresses = keyedLimiter({ perSecond: 4, burst: 3 }, clock);
    const alice = new RequestQuota(users.hold('alice'), addresses.hold('203.0.113.7'));
    const bob = new RequestQuota(users.hold('bob'), addresses.hold('203.0.113.7'));
    const now = clock.now();
    // Alice's refused requests leave the address's budget alone: Bob still gets one.
    expect([alice.take(now), alice.take(now), alice.take(now), alice.take(now)]).toEqual([true, true, false, false]);
    expect(alice.retryAfterMs()).toBe(100); // her own bucket at 10/s
    expect([bob.take(now), bob.take(now)]).toEqual([true, false]);
    expect(bob.retryAfterMs()).toBe(250); // the address's bucket at 4/s
  });

  it('releasing keeps the tokens: a new quota of the same user starts where the last one ended', () => {
    const clock = new FakeClock();
    const users = keyedLimiter({ perSecond: 1, burst: 2 }, clock);
    const first = new RequestQuota(users.hold('mallory'), undefined);
    expect([first.take(clock.now()), first.take(clock.now())]).toEqual([true, true]);
    first.release();
    first.release();
    const second = new RequestQuota(users.hold('mallory'), undefined);
    expect(second.take(clock.now())).toBe(false);
  });

  it('with no shares it never refuses', () => {
    const quota = new RequestQuota(undefined, undefined);
    expect(quota.take(0)).toBe(true);
    expect(quota.retryAfterMs()).toBe(0);
  });
});

describe('PsRequestLimits', () => {
  const settings = { userMessagesPerSecond: 1, userMessageBurst: 2, addressMessagesPerSecond: 1, addressMessageBurst: 3 };
  const req = (address: string) => ({ socket: { remoteAddress: address } }) as unknown as IncomingMessage;

  it('counts players and streamers from one address apart', () => {
    const limits = new PsRequestLimits(settings, new FakeClock(0), (r) => r.socket.remoteAddress ?? '');
    const players = [limits.forSocket(true, req('10.0.0.1'), undefined), limits.forSocket(true, req('10.0.0.1'), undefined)];
    expect([players[0]!.take(0), players[1]!.take(0), players[0]!.take(0), players[1]!.take(0)]).toEqual([true, true, true, false]);
    const streamer = limits.forSocket(false, req('10.0.0.1'), undefined);
    expect([streamer.take(0), streamer.take(0), streamer.take(0), streamer.take(0)]).toEqual([true, true, true, false]);
  });

  it('holds a player identity to its user rate on any address', () => {
    const limits = new PsRequestLimits(settings, new FakeClock(0), (r) => r.socket.remoteAddress ?? '');
    const home = limits.forSocket(true, req('10.0.0.1'), 'alice');
    const phone = limits.forSocket(true, req('10.0.0.2'), 'alice');
    expect([home.take(0), phone.take(0), phone.take(0)]).toEqual([true, true, false]);
  });
});
