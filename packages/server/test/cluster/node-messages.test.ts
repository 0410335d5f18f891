import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '@heliograph/common';
import { ClusterNode } from '../../src/cluster/cluster-node.js';
import { createMemoryBus, MemoryHub } from '../../src/test-support/memory-bus.js';
import { MemoryDirectory, MemoryDirectoryState } from '../../src/test-support/memory-directory.js';
import { isNodeMessage, NODE_MESSAGE_SCHEMAS } from '../../src/cluster/message-schemas.js';
import type { NodeMessage } from '../../src/cluster/messages.js';
import { createRedisBus } from '../../src/cluster/redis-bus.js';
import type { Bus } from '../../src/cluster/bus.js';
import { createLogger } from '../../src/shared/logger.js';
import { haveTool } from '../helpers/require-tool.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { RedisLinksHarness } from './harness.js';

const logger = createLogger('silent');

/** A well-formed message of every type: a new type without one here does not compile. */
const SAMPLES: { [T in NodeMessage['type']]: Extract<NodeMessage, { type: T }> } = {
  'room.event': {
    type: 'room.event',
    event: 'peer.left',
    data: '{"peerId":"PR_x","reason":"left"}',
    except: 'PR_y',
    permissions: { signal: true, data: true, update: false },
    skip: ['PR_z'],
  },
  'room.close': { type: 'room.close', reason: 'closed' },
  'peer.deliver': { type: 'peer.deliver', room: 'r1', to: 'PR_x', event: 'signal', data: '{"from":"PR_y","signal":{}}', forwarded: true },
  'peer.kick': { type: 'peer.kick', room: 'r1', peerId: 'PR_x', reason: 'bye' },
  'peer.update': { type: 'peer.update', room: 'r1', peerId: 'PR_x', changes: { name: 'n', metadata: { a: 1 }, permissions: { data: false } } },
  'peer.moving': { type: 'peer.moving', peerId: 'PR_x', to: 'ND_b' },
  'peer.moved': { type: 'peer.moved', peerId: 'PR_x', to: 'ND_b', forwarded: 3 },
  'session.claim': { type: 'session.claim', session: 'SS_1.ND_a', secret: 's', userId: 'u', lastSeq: 4 },
  'session.handover': { type: 'session.handover', session: 'SS_1.ND_a', secret: 's', userId: 'u', lastSeq: 4 },
  'session.event': { type: 'session.event', session: 'SS_1.ND_a', event: 'signal', data: '{"from":"PR_y","signal":{}}' },
  'session.answer': { type: 'session.answer', session: 'SS_1.ND_a', id: 7, frame: '{"id":7,"ok":true,"data":{}}' },
  'console.stats': { type: 'console.stats' },
  'console.history': { type: 'console.history' },
  'inspect.start': { type: 'inspect.start', capture: 'c1', target: { room: 'r1' }, ttlMs: 30_000 },
  'inspect.stop': { type: 'inspect.stop', capture: 'c1' },
  'inspect.records': {
    type: 'inspect.records',
    records: [{ at: 1, node: 'ND_a', direction: 'in', kind: 'request', type: 'signal.send', bytes: 10, body: {} }],
  },
  'module.request': { type: 'module.request', module: 'ps', body: { any: 'json' } },
};

/** Fields whose value is any JSON at all (a module's own body): no value is wrong there. */
const FREE_FORM = new Set(['body']);

/** Optional fields of the samples: leaving one out is fine. */
const OPTIONAL: Record<string, string[]> = { 'room.event': ['except', 'permissions', 'skip'], 'peer.deliver': ['forwarded'] };

/** Variants of `sample` that are one thing off: a required field missing, or any field of the wrong type. */
function broken(sample: NodeMessage): unknown[] {
  const out: unknown[] = [];
  for (const [key, value] of Object.entries(sample)) {
    if (key === 'type') {
      continue;
    }
    const rest = Object.fromEntries(Object.entries(sample).filter(([k]) => k !== key));
    if (!OPTIONAL[sample.type]?.includes(key)) {
      out.push(rest);
    }
    if (FREE_FORM.has(key)) {
      continue;
    }
    out.push({ ...rest, [key]: [true] });
    if (typeof value === 'object' && value !== null) {
      // One level down too: the first field of a nested object of the wrong type.
      const [inner] = Object.keys(value);
      out.push({ ...rest, [key]: { ...value, [inner!]: [true] } });
    }
  }
  return out;
}

describe('messages between nodes are checked against compiled schemas', () => {
  it('has a schema for every message type, accepting its sample and refusing what is one thing off', () => {
    expect(Object.keys(NODE_MESSAGE_SCHEMAS).sort()).toEqual(Object.keys(SAMPLES).sort());
    for (const sample of Object.values(SAMPLES)) {
      expect(isNodeMessage(sample), sample.type).toBe(true);
      expect(isNodeMessage(JSON.parse(JSON.stringify(sample))), sample.type).toBe(true);
      for (const bad of broken(sample)) {
        expect(isNodeMessage(bad), JSON.stringify(bad)).toBe(false);
      }
    }
    for (const junk of [null, 1, 'x', [], {}, { type: 'nope' }, { type: 7 }]) {
      expect(isNodeMessage(junk)).toBe(false);
    }
  });

  it('refuses to register a handler for a type without a schema', () => {
    const hub = new MemoryHub(systemClock);
    const { bus } = createMemoryBus<NodeMessage>({ nodeId: 'A', hub, logger, isMessage: isNodeMessage });
    const node = new ClusterNode(bus, new MemoryDirectory(new MemoryDirectoryState()), logger);
    expect(() => node.handle('peer.teleport' as NodeMessage['type'], () => ({}))).toThrow(/no schema/);
  });
});

/**
 * The receiving edge, end to end: another node sends each request type one thing off (as a buggy
 * or hostile node would), and publishes a malformed room event. The handler never runs, the
 * sender gets BAD_REQUEST, and a well-formed message still gets through.
 */
function edgeSuite(name: string, make: () => Promise<{ a: Bus<NodeMessage>; b: ClusterNode; settle?: () => Promise<void> }>) {
  it(`${name}: no malformed message reaches a handler; the sender is told BAD_REQUEST`, async () => {
    const { a, b } = await make();
    const handled: string[] = [];
    for (const type of Object.keys(SAMPLES) as Array<NodeMessage['type']>) {
      b.handle(type, (m) => {
        handled.push(m.type);
        return {};
      });
    }
    const heard: unknown[] = [];
    await b.bus.subscribe('room:r1', (m) => heard.push(m));
    for (const sample of Object.values(SAMPLES)) {
      for (const bad of broken(sample)) {
        // What a buggy or hostile node would put on the wire.
        await expect(a.request('B', bad as NodeMessage), JSON.stringify(bad)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      }
    }
    expect(handled).toEqual([]);
    await a.publish('room:r1', { type: 'room.event', event: 'peer.left', data: 7 } as unknown as NodeMessage);
    await a.publish('room:r1', SAMPLES['room.close']);
    await expect(a.request('B', SAMPLES['peer.kick'])).resolves.toEqual({});
    await new Promise((r) => setTimeout(r, 100));
    expect(heard).toEqual([SAMPLES['room.close']]);
    expect(handled).toEqual(['peer.kick']);
  });
}

describe('the receiving edge', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) {
      await c();
    }
  });

  edgeSuite('memory bus', async () => {
    const hub = new MemoryHub(systemClock);
    const make = (id: string) => createMemoryBus<NodeMessage>({ nodeId: id, hub, logger, isMessage: isNodeMessage }).bus;
    const [a, bBus] = [make('A'), make('B')];
    for (const bus of [a, bBus]) {
      closers.push(() => bus.close());
      await bus.start();
    }
    return { a, b: new ClusterNode(bBus, new MemoryDirectory(new MemoryDirectoryState()), logger) };
  });

  const present = haveTool('redis-server', 'redis-server');
  describe.skipIf(!present)('on Redis with direct links', () => {
    let redis: TestRedis;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis?.stop();
    });
    edgeSuite('direct links', async () => {
      const h = new RedisLinksHarness(() => redis.url, 'edge');
      closers.push(() => h.close());
      const nodes: Array<Bus<NodeMessage>> = [];
      for (const id of ['A', 'B']) {
        const links = h.makeLinks(id);
        const { bus } = createRedisBus<NodeMessage>({
          nodeId: id,
          redis: h.settings,
          clock: systemClock,
          logger,
          timing: h.timing,
          links,
          isMessage: isNodeMessage,
        });
        closers.push(() => bus.close());
        await bus.start();
        nodes.push(bus);
        if (id === 'B') {
          await h.eventually(() => links.isUp('A'), 'B to link to A');
        }
      }
      await h.eventually(() => nodes[0]!.nodes().includes('B'), 'A to see B');
      // Requests from A must take the link: wait until A's link to B is up too.
      await new Promise((r) => setTimeout(r, 300));
      return { a: nodes[0]!, b: new ClusterNode(nodes[1]!, new MemoryDirectory(new MemoryDirectoryState()), logger) };
    });
  });
});
