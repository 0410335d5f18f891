import { describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { createMemoryBus, MemoryHub } from '../test-support/memory-bus.js';
import type { NodeMessage } from '../cluster/messages.js';
import { sequentialIds } from '../shared/ids.js';
import { createLogger } from '../shared/logger.js';
import type { Session } from '../handlers/handler.js';
import { Peer } from '../rooms/room.js';
import { NO_SINK } from '../rooms/peer-sink.js';
import { Room } from '../rooms/room.js';
import { Inspector, INSPECTOR_LIMITS } from './inspector.js';
import type { InspectRecord } from './records.js';

/** Lets the in-memory bus hand on what was published (it delivers on the microtask queue). */
const settle = () => new Promise((r) => setTimeout(r, 0));

async function twoNodes() {
  const clock = new FakeClock();
  const hub = new MemoryHub(clock);
  const logger = createLogger('silent');
  const nodes = await Promise.all(
    ['ND_a', 'ND_b'].map(async (nodeId) => {
      const { bus } = createMemoryBus<NodeMessage>({ nodeId, logger, hub });
      await bus.start();
      const inspector = new Inspector({ nodeId, clock, ids: sequentialIds(), logger, bus });
      await inspector.start();
      return { bus, inspector };
    }),
  );
  return { clock, a: nodes[0]!, b: nodes[1]! };
}

describe('Inspector across nodes', () => {
  it('starts a capture on every node, keeps it while the watcher renews it, and stops it with the watch', async () => {
    const { clock, a, b } = await twoNodes();
    expect(a.inspector.active).toBe(false);
    const watch = await a.inspector.watch({ room: 'r' }, () => undefined);
    await settle();
    expect([a.inspector.captures, b.inspector.captures]).toEqual([1, 1]);
    for (let i = 0; i < 12; i++) {
      clock.advance(5_000);
      await settle();
    }
    expect(b.inspector.captures).toBe(1);
    await watch.close();
    await settle();
    expect([a.inspector.captures, b.inspector.captures]).toEqual([0, 0]);
    expect(b.inspector.active).toBe(false);
  });

  it('lets go of a capture whose watcher vanished without a word, after its time to live', async () => {
    const { clock, a, b } = await twoNodes();
    await a.inspector.watch({ peer: 'PR_x' }, () => undefined);
    await settle();
    expect(b.inspector.captures).toBe(1);
    // The watching node goes away without stopping its capture (a crash, a cut).
    await a.inspector.close();
    await a.bus.close();
    clock.advance(INSPECTOR_LIMITS.remoteTtlMs - 5_000);
    await settle();
    expect(b.inspector.captures).toBe(1);
    clock.advance(10_000);
    await settle();
    expect(b.inspector.captures).toBe(0);
  });

  it('refuses a capture past the bound of a node, local or from another node', async () => {
    const { a, b } = await twoNodes();
    for (let i = 0; i < INSPECTOR_LIMITS.maxCaptures; i++) {
      await a.inspector.watch({ room: `r${i}` }, () => undefined);
    }
    await expect(a.inspector.watch({ room: 'one-more' }, () => undefined)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await settle();
    expect(b.inspector.captures).toBe(INSPECTOR_LIMITS.maxCaptures);
    // B is full of A's captures: its own watcher is refused too.
    await expect(b.inspector.watch({ room: 'x' }, () => undefined)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});

describe('Inspector: server events', () => {
  it("records events sent to a watched room's peers, secrets redacted, and nothing for other rooms", async () => {
    const clock = new FakeClock();
    const inspector = new Inspector({ nodeId: 'ND_a', clock, ids: sequentialIds(), logger: createLogger('silent') });
    const records: InspectRecord[] = [];
    await inspector.watch({ room: 'r' }, (record) => records.push(record));
    const session = (roomId: string): Session => {
      const room = new Room(roomId, 0, { maxPeers: 10, emptyTimeoutMs: 0, metadata: {} });
      const peer = new Peer('PR_1', 'alice', room, NO_SINK, 0, undefined, {});
      return { identity: { userId: 'alice', grants: [], expiresAt: 0 }, peer, sink: NO_SINK, acknowledge: () => undefined };
    };
    inspector.observeEvent(session('r'), 'peer.joined', '{"peer":{"id":"PR_2","userId":"bob","metadata":{},"joinedAt":0}}');
    inspector.observeEvent(session('r'), 'ice.servers', '{"iceServers":[{"urls":"turn:x","username":"u","credential":"pw"}]}');
    inspector.observeEvent(session('other'), 'peer.joined', '{"peer":{"id":"PR_3"}}');
    expect(records.map((r) => [r.type, r.direction, r.kind, r.room, r.peer])).toEqual([
      ['peer.joined', 'out', 'event', 'r', 'PR_1'],
      ['ice.servers', 'out', 'event', 'r', 'PR_1'],
    ]);
    expect(JSON.stringify(records[1]!.body)).not.toContain('pw');
  });
});
