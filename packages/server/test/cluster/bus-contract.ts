import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/shared/app-error.js';
import type { ClusterMessage, NodeId } from '../../src/cluster/bus.js';
import type { ClusterHarness } from './harness.js';

interface Ping extends ClusterMessage {
  type: 'ping';
  n: number;
}

/** What every Bus must do, whatever carries it. */
export function busContract(name: string, make: () => Promise<ClusterHarness>): void {
  describe(`Bus contract: ${name}`, () => {
    let h: ClusterHarness;
    beforeEach(async () => {
      h = await make();
    });
    afterEach(async () => {
      await h.close();
    });

    it('delivers a publication to the other subscribers, stamped with the sender, never back to the sender', async () => {
      const [a, b, c] = [await h.node('A'), await h.node('B'), await h.node('C')];
      const heard: Array<[NodeId, string, unknown]> = [];
      for (const n of [a, b, c]) {
        await n.bus.subscribe('room:r1', (m, from) => heard.push([n.bus.nodeId, from, m]));
      }
      await a.bus.publish('room:r1', { type: 'ping', n: 1 } as Ping);
      await h.eventually(() => heard.length >= 2, 'B and C to hear A');
      await a.bus.publish('room:other', { type: 'ping', n: 2 } as Ping);
      await b.bus.publish('room:r1', { type: 'ping', n: 3 } as Ping);
      await h.eventually(() => heard.length >= 4, 'A and C to hear B');
      expect(heard.sort()).toEqual([
        ['A', 'B', { type: 'ping', n: 3 }],
        ['B', 'A', { type: 'ping', n: 1 }],
        ['C', 'A', { type: 'ping', n: 1 }],
        ['C', 'B', { type: 'ping', n: 3 }],
      ]);
    });

    it('keeps the order of one publisher’s messages', async () => {
      const [a, b] = [await h.node('A'), await h.node('B')];
      const got: number[] = [];
      await b.bus.subscribe('pair', (m) => got.push((m as Ping).n));
      await Promise.all(Array.from({ length: 200 }, (_, n) => a.bus.publish('pair', { type: 'ping', n } as Ping)));
      await h.eventually(() => got.length === 200, 'all 200 messages');
      expect(got).toEqual(Array.from({ length: 200 }, (_, n) => n));
    });

    it('stops delivering once the last handler of a channel is removed', async () => {
      const [a, b] = [await h.node('A'), await h.node('B')];
      const got: number[] = [];
      const off = await b.bus.subscribe('ch', (m) => got.push((m as Ping).n));
      await a.bus.publish('ch', { type: 'ping', n: 1 } as Ping);
      await h.eventually(() => got.length === 1, 'the first message');
      await off();
      await a.bus.publish('ch', { type: 'ping', n: 2 } as Ping);
      // A marker on another channel proves the bus moved on without delivering n: 2.
      let marker = false;
      await b.bus.subscribe('marker', () => (marker = true));
      await a.bus.publish('marker', { type: 'ping', n: 0 } as Ping);
      await h.eventually(() => marker, 'the marker');
      expect(got).toEqual([1]);
    });

    it('answers requests, and passes an AppError back with its code', async () => {
      const [a, b] = [await h.node('A'), await h.node('B')];
      b.bus.onRequest((m, from) => {
        const n = (m as Ping).n;
        if (n < 0) {
          throw new AppError('PEER_NOT_FOUND', `no peer ${n}`);
        }
        if (n === 0) {
          throw new Error('boom');
        }
        return { twice: n * 2, from };
      });
      await expect(h.settle(a.bus.request('B', { type: 'ping', n: 21 } as Ping))).resolves.toEqual({ twice: 42, from: 'A' });
      await expect(h.settle(a.bus.request('B', { type: 'ping', n: -1 } as Ping))).rejects.toMatchObject({ code: 'PEER_NOT_FOUND', message: 'no peer -1' });
      await expect(h.settle(a.bus.request('B', { type: 'ping', n: 0 } as Ping))).rejects.toMatchObject({ code: 'INTERNAL' });
      // A node asking itself gets the same treatment from its own handler.
      b.bus.onRequest((m, from) => ({ n: (m as Ping).n, from }));
      await expect(h.settle(b.bus.request('B', { type: 'ping', n: 5 } as Ping))).resolves.toEqual({ n: 5, from: 'B' });
    });

    it('fails a request to a node nobody hears with UNAVAILABLE, and an unanswered one with TIMEOUT', async () => {
      const [a, b] = [await h.node('A'), await h.node('B')];
      await expect(h.settle(a.bus.request('nobody', { type: 'ping', n: 1 } as Ping))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      b.bus.onRequest(() => new Promise(() => undefined));
      await expect(h.settle(a.bus.request('B', { type: 'ping', n: 1 } as Ping, 300))).rejects.toMatchObject({ code: 'TIMEOUT' });
    });

    it('knows the live nodes, reports a crashed node lost and fails requests waiting on it', async () => {
      const [a, b] = [await h.node('A'), await h.node('B')];
      const lost: NodeId[] = [];
      a.bus.onNodeLost((id) => lost.push(id));
      await h.eventually(() => a.bus.nodes().includes('B') && b.bus.nodes().includes('A'), 'A and B to see each other');
      b.bus.onRequest(() => new Promise(() => undefined));
      const waiting = a.bus.request('B', { type: 'ping', n: 1 } as Ping, 60_000);
      waiting.catch(() => undefined);
      b.crash();
      await h.eventually(() => lost.includes('B'), 'B to be reported lost');
      await expect(h.settle(waiting)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      expect(a.bus.nodes()).toEqual(['A']);
      expect(lost).toEqual(['B']);
    });

    it('reports a node that closed as lost, and a closed bus refuses work', async () => {
      const [a, b] = [await h.node('A'), await h.node('B')];
      const lost: NodeId[] = [];
      a.bus.onNodeLost((id) => lost.push(id));
      await h.eventually(() => a.bus.nodes().includes('B'), 'A to see B');
      await b.bus.close();
      await b.bus.close();
      await h.eventually(() => lost.includes('B'), 'B to be reported lost');
      expect(b.bus.connected).toBe(false);
      await expect(b.bus.publish('x', { type: 'ping', n: 1 } as Ping)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      await expect(b.bus.request('A', { type: 'ping', n: 1 } as Ping)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    });
  });
}
