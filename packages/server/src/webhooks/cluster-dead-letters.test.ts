import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterNode } from '../cluster/cluster-node.js';
import { createMemoryBus, MemoryHub } from '../test-support/memory-bus.js';
import { MemoryDirectory, MemoryDirectoryState } from '../test-support/memory-directory.js';
import type { NodeMessage } from '../cluster/messages.js';
import { isNodeMessage } from '../cluster/message-schemas.js';
import { AppError } from '../shared/app-error.js';
import { FakeClock } from '@heliograph/common';
import { sequentialIds } from '../shared/ids.js';
import { createLogger } from '../shared/logger.js';
import { openDatabase, type Database } from '../storage/database.js';
import { ClusterDeadLetters } from './cluster-dead-letters.js';
import { Outbox } from './outbox.js';
import { Webhooks } from './webhooks.js';

/**
 * Three in-memory nodes on fake time: A holds dead letters, B lists and acts on them, C (when
 * there) takes the request and never answers, so B's request times out as time is advanced.
 */
const TIMEOUT_MS = 1_000;
const logger = createLogger('silent');
const clock = new FakeClock();
const hub = new MemoryHub(clock);
const state = new MemoryDirectoryState();
const closers: Array<() => unknown> = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) {
    await close();
  }
});

async function clusterNode(id: string): Promise<ClusterNode> {
  const { bus } = createMemoryBus<NodeMessage>({ nodeId: id, hub, logger, timing: { requestTimeoutMs: TIMEOUT_MS }, isMessage: isNodeMessage });
  const node = new ClusterNode(bus, new MemoryDirectory(state), logger);
  await node.start();
  closers.push(() => node.close());
  return node;
}

/** A node with webhooks (never started: nothing is sent) and `dead` dead letters in its outbox. */
async function nodeWithDeadLetters(id: string, dead: number): Promise<ClusterDeadLetters & { node: ClusterNode }> {
  const db: Database = openDatabase(':memory:');
  closers.push(() => db.close());
  const outbox = new Outbox(db);
  const webhooks = new Webhooks({
    outbox,
    url: 'http://127.0.0.1:9/hooks',
    secret: 'hook-secret-0123456789-abcdefghij',
    events: [],
    timeoutMs: 1000,
    concurrency: 1,
    initialBackoffMs: 10,
    maxBackoffMs: 10,
    maxAttempts: 1,
    clock,
    ids: sequentialIds(),
    logger,
    registry: new Registry(),
  });
  for (let i = 1; i <= dead; i++) {
    outbox.record({ id: `EV_${id}_${i}`, type: 'room.started', room: `r${i}`, createdAt: clock.now() + i, data: {} });
    const [head] = outbox.dueHeads(Infinity).filter((e) => e.id === `EV_${id}_${i}`);
    outbox.dead(head?.position ?? 0, 1, 'HTTP 500');
  }
  const node = await clusterNode(id);
  return Object.assign(new ClusterDeadLetters({ nodeId: id, webhooks, cluster: node, timeoutMs: TIMEOUT_MS, logger }), { node });
}

/** Advances fake time until `p` settles. */
async function settle<T>(p: Promise<T>): Promise<T> {
  let done = false;
  const watched = p.finally(() => (done = true));
  watched.catch(() => undefined);
  for (let i = 0; i < 100 && !done; i++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(100);
  }
  return watched;
}

/** Advances fake time until `seer` has heard `id`'s heartbeat. */
async function seen(seer: ClusterNode, id: string): Promise<void> {
  for (let i = 0; i < 100 && !seer.bus.nodes().includes(id); i++) {
    clock.advance(100);
    await new Promise((r) => setImmediate(r));
  }
  expect(seer.bus.nodes()).toContain(id);
}

async function silentNode(id: string): Promise<void> {
  (await clusterNode(id)).handleModule('webhooks.dead-letters', () => new Promise(() => undefined));
}

describe('ClusterDeadLetters', () => {
  it("lists every node's dead letters with their node; acts on the node that holds one", async () => {
    await nodeWithDeadLetters('ND_a', 2);
    const b = await nodeWithDeadLetters('ND_b', 1);
    const listed = await settle(b.list(10));
    expect(listed.deadLetters.map((d) => `${d.node} ${d.id}`)).toEqual(['ND_a EV_ND_a_1', 'ND_b EV_ND_b_1', 'ND_a EV_ND_a_2']);
    expect(listed.unreachable).toEqual([]);
    expect(await settle(b.act('redeliver', 'EV_ND_a_1'))).toBe('ND_a');
    expect(await settle(b.act('discard', 'EV_ND_a_2', 'ND_a'))).toBe('ND_a');
    expect((await settle(b.list(10))).deadLetters.map((d) => d.id)).toEqual(['EV_ND_b_1']);
    await expect(settle(b.act('redeliver', 'EV_ND_a_1'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(settle(b.act('redeliver', 'EV_ND_b_1', 'ND_a'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a node that does not answer within the timeout: the others are listed, it is named', async () => {
    await nodeWithDeadLetters('ND_a', 1);
    const b = await nodeWithDeadLetters('ND_b', 0);
    await silentNode('ND_c');
    await seen(b.node, 'ND_c');
    const listed = await settle(b.list(10));
    expect(listed.deadLetters.map((d) => d.node)).toEqual(['ND_a']);
    expect(listed.unreachable).toEqual(['ND_c']);
    const unknown = settle(b.act('redeliver', 'EV_x'));
    await expect(unknown).rejects.toBeInstanceOf(AppError);
    await expect(unknown).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(settle(b.act('redeliver', 'EV_x', 'ND_c'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // Held by a node that answers: found, whatever the silent one does.
    expect(await settle(b.act('redeliver', 'EV_ND_a_1'))).toBe('ND_a');
  });

  it("refuses a malformed request from another node, and a node's malformed answer counts as no answer", async () => {
    const b = await nodeWithDeadLetters('ND_b', 0);
    const odd = await clusterNode('ND_odd');
    odd.handleModule('webhooks.dead-letters', () => ({ items: [{ id: 1 }], more: false }));
    await seen(b.node, 'ND_odd');
    await expect(settle(odd.requestModule('ND_b', 'webhooks.dead-letters', { op: 'list', limit: 1000, after: 0 }))).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect((await settle(b.list(10))).unreachable).toEqual(['ND_odd']);
  });
});
