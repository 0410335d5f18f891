import { describe, expect, it } from 'vitest';
import { EventLog } from './event-log.js';

describe('EventLog', () => {
  it('replays what follows a seq, forgets what was acknowledged, and knows its size', () => {
    const log = new EventLog();
    for (let seq = 1; seq <= 5; seq++) {
      log.append(seq, 'signal', `{"n":${seq}}`);
    }
    expect(log.since(2)?.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(log.since(5)).toEqual([]);
    const before = log.bytes;
    expect(log.acknowledge(3)).toBeGreaterThan(0);
    expect(log.size).toBe(2);
    expect(log.bytes).toBeLessThan(before);
    // Acknowledged events are not replayed, but asking from there is fine.
    expect(log.since(3)?.map((e) => e.seq)).toEqual([4, 5]);
    // From before it, the replay would miss what was forgotten: none at all (fuzzer finding).
    expect(log.since(2)).toBeNull();
    expect(log.since(0)).toBeNull();
  });

  it('cannot replay past an event dropped for room, nor from a seq it never sent', () => {
    const log = new EventLog();
    for (let seq = 1; seq <= 4; seq++) {
      log.append(seq, 'data', '{}');
    }
    log.dropOldest();
    log.dropOldest();
    expect(log.since(0)).toBeNull();
    expect(log.since(1)).toBeNull();
    expect(log.since(2)?.map((e) => e.seq)).toEqual([3, 4]);
    expect(log.since(9)).toBeNull();
    log.clear();
    expect([log.size, log.bytes]).toEqual([0, 0]);
  });
});
