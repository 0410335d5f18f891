import { describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import type { NodeId } from '../../src/cluster/bus.js';
import { createMemoryBus } from '../../src/test-support/memory-bus.js';
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
    expect(lost).toEqual([
      ['A', 'B'],
      ['B', 'B'],
    ]);
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

  it('an outage of the whole registry, however long, condemns nobody; a wiped registry makes each node re-register', async () => {
    const h = new MemoryHarness();
    const [a, b] = [await h.node('A'), await h.node('B')];
    const lost: Array<[NodeId, NodeId]> = [];
    const changes: Array<[NodeId, boolean]> = [];
    for (const n of [a, b]) {
      n.bus.onNodeLost((id) => lost.push([n.bus.nodeId, id]));
      n.bus.onConnectionChange((up) => changes.push([n.bus.nodeId, up]));
    }
    const heard: string[] = [];
    await b.bus.subscribe('room:r1', (m) => heard.push(m.type));
    await h.eventually(() => a.bus.nodes().length === 2 && b.bus.nodes().length === 2, 'A and B to see each other');

    a.memory!.disconnect();
    b.memory!.disconnect();
    expect([a.bus.connected, b.bus.connected]).toEqual([false, false]);
    await expect(a.bus.request('B', { type: 'x' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    h.clock.advance(10 * h.timing.heartbeatTtlMs);
    h.hub.wipeRegistry();
    a.memory!.reconnect();
    b.memory!.reconnect();
    await h.eventually(() => a.bus.connected && b.bus.connected, 'both to be back');
    await a.bus.publish('room:r1', { type: 'after' });
    await h.eventually(() => heard.includes('after'), 'B’s subscription to be restored');
    await h.eventually(() => a.bus.nodes().length === 2 && b.bus.nodes().length === 2, 'both to be registered again');
    h.clock.advance(10 * h.timing.heartbeatTtlMs);
    await h.eventually(() => true, 'time to pass');
    expect(lost.sort()).toEqual([
      ['A', 'A'],
      ['B', 'B'],
    ]);
    expect(changes).toEqual([
      ['A', false],
      ['B', false],
      ['A', true],
      ['B', true],
    ]);
    await h.close();
  });

  it('a node cut off longer than the TTL is lost to the others, and learns it on its return', async () => {
    const h = new MemoryHarness();
    const [a, b] = [await h.node('A'), await h.node('B')];
    const lost: Array<[NodeId, NodeId]> = [];
    for (const n of [a, b]) {
      n.bus.onNodeLost((id) => lost.push([n.bus.nodeId, id]));
    }
    await h.eventually(() => a.bus.nodes().length === 2, 'A to see B');
    b.memory!.disconnect();
    await h.eventually(() => lost.length > 0, 'B to be reported lost');
    b.memory!.reconnect();
    await h.eventually(() => lost.length > 1 && a.bus.nodes().length === 2, 'B to learn it and re-register');
    expect(lost).toEqual([
      ['A', 'B'],
      ['B', 'B'],
    ]);
    await h.close();
  });
});
