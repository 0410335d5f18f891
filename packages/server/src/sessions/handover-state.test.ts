import { describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import type { Identity } from '../auth/identity.js';
import { Rooms } from '../rooms/rooms.js';
import { sequentialIds } from '../shared/ids.js';
import { createLogger } from '../shared/logger.js';
import type { SessionLink } from './client-session.js';
import { SessionRegistry } from './session-registry.js';

/** One node's sessions on fake time, with a socket that records what it is sent. */
function node(nodeId: string) {
  const clock = new FakeClock();
  const rooms = new Rooms({ clock, ids: sequentialIds(), logger: createLogger('silent'), defaults: { maxPeers: 10, emptyTimeoutMs: 1000 } });
  const sessions = new SessionRegistry({
    clock,
    ids: sequentialIds(),
    rooms,
    nodeId,
    limits: { windowMs: 30_000, maxEvents: 100, maxBytes: 100_000, maxTotalBytes: 1_000_000 },
  });
  return { clock, rooms, sessions };
}

function socket(): SessionLink & { frames: string[]; dropped: boolean } {
  const link = {
    frames: [] as string[],
    dropped: false,
    send: (frame: string) => (link.frames.push(frame), true),
    shutdown: () => undefined,
    takenOver: () => (link.dropped = true),
  };
  return link;
}

const alice: Identity = { userId: 'alice', grants: [{ room: '*', join: true, create: true }], metadata: {}, expiresAt: Number.MAX_SAFE_INTEGER };

describe('a session handed over between nodes', () => {
  it('names its node in its id, so any node knows where to ask', () => {
    const a = node('ND_a');
    const session = a.sessions.create(alice);
    expect(session.id).toMatch(/\.ND_a$/);
    expect(a.sessions.holderOf(session.id)).toBeUndefined();
    expect(node('ND_b').sessions.holderOf(session.id)).toBe('ND_a');
    expect(node('ND_b').sessions.holderOf('SS_1')).toBeUndefined();
  });

  it('the old node snapshots, then forwards; the new one continues the numbering, the replay and the answers', () => {
    const a = node('ND_a');
    const old = a.sessions.create(alice);
    const link = socket();
    old.attach(link);
    for (let n = 1; n <= 5; n++) {
      old.sendEvent('data', `{"n":${n}}`);
    }
    old.started(7);
    old.answer(8, '{"id":8,"ok":true,"data":{}}');
    old.started(9); // still being handled when the session leaves

    const forwarded: string[] = [];
    const state = old.handOver(3, { event: (type, data) => forwarded.push(`${type} ${data}`), answer: (id, frame) => forwarded.push(`answer ${id} ${frame}`) });
    expect(link.dropped).toBe(true);
    expect(state.seq).toBe(5);
    expect(state.replay.map((e) => e.seq)).toEqual([4, 5]);
    expect(state.answers).toEqual([
      [7, null],
      [8, '{"id":8,"ok":true,"data":{}}'],
      [9, null],
    ]);
    expect(old.closing).toBe(true); // its handlers commit nothing more here
    expect(old.sendEvent('data', '{"n":6}')).toBe('queued');
    old.answer(9, '{"id":9,"ok":true,"data":{}}');
    expect(forwarded).toEqual(['data {"n":6}', 'answer 9 {"id":9,"ok":true,"data":{}}']);
    expect(() => old.handOver(3, { event: () => undefined, answer: () => undefined })).toThrow(/moved/);

    const b = node('ND_b');
    const moved = b.sessions.adopt(alice, 3, state);
    expect(moved.id).toMatch(/\.ND_b$/);
    expect(moved.secret).not.toBe(old.secret);
    moved.sendEvent('data', '{"n":6}');
    expect(moved.eventsAfter(3).map((e) => e.seq)).toEqual([4, 5, 6]);
    expect(moved.canReplay(2)).toBe(false);
    const next = socket();
    moved.attach(next);
    // A request re-sent after the move gets its answer once, or waits for it.
    expect(moved.duplicate(8)).toBe('{"id":8,"ok":true,"data":{}}');
    expect(moved.duplicate(9)).toBe('pending');
    moved.answer(9, '{"id":9,"ok":true,"data":{}}');
    expect(next.frames).toEqual(['{"id":9,"ok":true,"data":{}}']);
    expect(moved.duplicate(9)).toBe('{"id":9,"ok":true,"data":{}}');
    expect(moved.duplicate(10)).toBeUndefined();
  });

  it('refuses a hand-over it cannot honour and a claim by the wrong secret or user', () => {
    const a = node('ND_a');
    const session = a.sessions.create(alice);
    session.attach(socket());
    session.sendEvent('data', '{}');
    session.acknowledge(1);
    expect(session.canReplay(0)).toBe(false); // acknowledged events are gone
    expect(() => session.handOver(0, { event: () => undefined, answer: () => undefined })).toThrow(/no longer/);
    expect(() => a.sessions.verify(session.id, 'wrong', 'alice')).toThrow(/cannot resume/);
    expect(() => a.sessions.verify(session.id, session.secret, 'mallory')).toThrow(/cannot resume/);
    expect(a.sessions.verify(session.id, session.secret, 'alice')).toBe(session);
  });
});
