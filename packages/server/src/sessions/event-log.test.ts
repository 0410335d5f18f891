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

  it('keeps the same log over a long run of appends, drops and acknowledgements as a plain list would', () => {
    const log = new EventLog();
    let model: number[] = [];
    let lost = 0;
    for (let seq = 1; seq <= 5_000; seq++) {
      log.append(seq, 'signal', `{"n":${seq}}`);
      model.push(seq);
      if (model.length > 100) {
        log.dropOldest();
        lost = model.shift()!;
      }
      if (seq % 777 === 0) {
        const upTo = seq - 30;
        log.acknowledge(upTo);
        lost = Math.max(lost, ...model.filter((s) => s <= upTo));
        model = model.filter((s) => s > upTo);
      }
      if (seq % 250 === 0) {
        expect(log.size).toBe(model.length);
        expect(log.since(lost)?.map((e) => e.seq)).toEqual(model);
        expect(log.since(lost - 1)).toBeNull();
      }
    }
    expect(log.bytes).toBe(model.reduce((sum, s) => sum + `{"n":${s}}`.length + 'signal'.length + 48, 0));
    log.acknowledge(5_000);
    expect([log.size, log.bytes, log.dropOldest()]).toEqual([0, 0, 0]);
  });
});
