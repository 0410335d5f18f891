import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../src/cluster/bus.js';
import { createMemoryBus } from '../../src/cluster/memory-bus.js';
import { FakeClock } from '../../src/shared/fake-clock.js';
import { createLogger } from '../../src/shared/logger.js';
import { MemoryHarness } from './harness.js';

describe('node liveness on fake time', () => {
  it('a node that missed its heartbeats is reported lost by the others, and learns it was dropped', async () => {
    const h = new MemoryHarness();
    const a = await h.node('A');
    // B's timers run on a clock of its own, which the test holds still: B stops beating, as if frozen.
    const bClock = new FakeClock(h.clock.now());
    const { bus: b } = createMemoryBus({ nodeId: 'B', hub: h.hub, clock: bClock, logger: createLogger('silent'), timing: h.timing });
    await b.start();
    const lost: Array<[NodeId, NodeId]> = [];
    a.bus.onNodeLost((id) => lost.push(['A', id]));
    b.onNodeLost((id) => lost.push(['B', id]));
    await h.eventually(() => a.bus.nodes().includes('B'), 'A to see B');
    await h.eventually(() => lost.length > 0, 'B to be reported lost');
    expect(lost).toEqual([['A', 'B']]);
    expect(a.bus.nodes()).toEqual(['A']);

    bClock.advance(h.timing.heartbeatIntervalMs); // B wakes up and beats
    await h.eventually(() => lost.length > 1, 'B to learn it was dropped');
    expect(lost).toEqual([['A', 'B'], ['B', 'B']]);
    await h.eventually(() => a.bus.nodes().includes('B'), 'A to see B again');
    await b.close();
    await h.close();
  });

  it('an idle one-node cluster keeps beating and never reports itself', async () => {
    const h = new MemoryHarness();
    const a = await h.node('A');
    const lost: NodeId[] = [];
    a.bus.onNodeLost((id) => lost.push(id));
    h.clock.advance(60_000);
    await h.eventually(() => a.bus.nodes().length === 1, 'A to be listed');
    expect(lost).toEqual([]);
    expect(a.bus.connected).toBe(true);
    await h.close();
    expect(a.bus.connected).toBe(false);
    expect(h.clock.pending).toBe(0); // close() left no timer behind
  });
});
