import { describe, expect, it } from 'vitest';
import type { TestClient } from '../helpers/client.js';
import type { NodeProcess } from '../helpers/node-process.js';
import { haveTool } from '../helpers/require-tool.js';
import { until } from '../helpers/wait.js';
import { logCount, NO_RATE_LIMIT, useNodeCluster } from './fixture.js';

/**
 * The direct links between node processes (`cluster.linkSecret`): relays take them, and when the
 * other node is stalled (SIGSTOP) or killed (SIGKILL) in the middle of a stream of signals, every
 * request still gets exactly one answer within its timeout, and the order holds after recovery.
 * Link cuts and resets in the middle of a stream: test/cluster/node-links.test.ts.
 */

// haveTool throws under CI=true when redis-server is missing, so this never skips in CI.
const hasRedis = haveTool('redis-server', 'redis-server');

const REQUEST_TIMEOUT_MS = 500;
const LINKS = ['--cluster.link-secret', 'links-test-secret-0123456789abcdef', '--cluster.link-host', '127.0.0.1'];
const FAST = ['--cluster.request-timeout-ms', String(REQUEST_TIMEOUT_MS)];

/** Every answer `client` got, by request id, with the time it took. */
function answers(client: TestClient): Map<number, Array<{ ok: boolean; code?: string }>> {
  const seen = new Map<number, Array<{ ok: boolean; code?: string }>>();
  client.ws.on('message', (raw) => {
    const frame = JSON.parse(String(raw)) as { id?: number; ok?: boolean; error?: { code: string } };
    if (typeof frame.id === 'number' && frame.id >= 1_000_000) {
      seen.set(frame.id, [...(seen.get(frame.id) ?? []), { ok: frame.ok === true, ...(frame.error ? { code: frame.error.code } : {}) }]);
    }
  });
  return seen;
}

/** The numbers of the signals `client` received, in arrival order. */
const received = (client: TestClient): number[] => client.log.flatMap((e) => (e.type === 'signal' ? [(e.data.signal as { n: number }).n] : []));

/** Sends signals `from`..`to` - 1, `perTick` every 5 ms, with request ids 1,000,000 + n. */
async function stream(client: TestClient, peer: string, from: number, to: number, perTick = 5, during?: (n: number) => void): Promise<void> {
  for (let n = from; n < to; n++) {
    during?.(n);
    client.send(JSON.stringify({ id: 1_000_000 + n, type: 'signal.send', data: { to: peer, signal: { n } } }));
    if (n % perTick === perTick - 1) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

describe.skipIf(!hasRedis)('a cluster of node processes: direct links', () => {
  const cluster = useNodeCluster();

  async function pair(args: string[]): Promise<{ a: NodeProcess; b: NodeProcess; alice: TestClient; bob: TestClient; bobId: string }> {
    const [a, b] = await cluster.start(2, [...LINKS, ...NO_RATE_LIMIT, ...args]);
    await until(() => logCount(a!, 'cluster links: link up') >= 1 && logCount(b!, 'cluster links: link up') >= 1, 10_000, 'both nodes to link');
    const alice = await cluster.client(a!, 'alice');
    const bob = await cluster.client(b!, 'bob');
    await alice.ok('room.join', { room: 'links' });
    const { peer } = await bob.ok('room.join', { room: 'links' });
    await alice.nextEvent('peer.joined', (e) => e.data.peer.id === peer.id);
    return { a: a!, b: b!, alice, bob, bobId: peer.id };
  }

  it('relays over the link: 1,000 acked signals arrive in order', async () => {
    const { alice, bob, bobId } = await pair([]);
    const got = answers(alice);
    await stream(alice, bobId, 0, 1_000, 50);
    await until(() => got.size === 1_000, 10_000, 'every answer');
    expect([...got.values()].every((a) => a.length === 1 && a[0]!.ok)).toBe(true);
    await until(() => received(bob).length === 1_000, 10_000, 'every signal');
    expect(received(bob)).toEqual(Array.from({ length: 1_000 }, (_, n) => n));
  }, 60_000);

  it('the other node stalled (SIGSTOP) mid-stream: one answer per request within its timeout, order kept after SIGCONT', async () => {
    const { b, alice, bob, bobId } = await pair(FAST);
    const got = answers(alice);
    const sentAt = new Map<number, number>();
    const answeredLate: number[] = [];
    alice.ws.on('message', (raw) => {
      const { id } = JSON.parse(String(raw)) as { id?: number };
      if (typeof id === 'number' && Date.now() - (sentAt.get(id) ?? Date.now()) > REQUEST_TIMEOUT_MS + 1_000) {
        answeredLate.push(id);
      }
    });
    // B stops for 1.5 s (past the request timeout, short of the heartbeat TTL: it is not lost).
    let resumed: NodeJS.Timeout | undefined;
    await stream(alice, bobId, 0, 600, 2, (n) => {
      sentAt.set(1_000_000 + n, Date.now());
      if (n === 100) {
        b.signal('SIGSTOP');
        resumed = setTimeout(() => b.signal('SIGCONT'), 1_500);
      }
    });
    cluster.onStop(() => clearTimeout(resumed));
    await until(() => got.size === 600, 15_000, 'an answer to every request');
    expect([...got.values()].filter((a) => a.length !== 1)).toEqual([]);
    expect(answeredLate).toEqual([]);
    const codes = new Set([...got.values()].map((a) => (a[0]!.ok ? 'ok' : a[0]!.code)));
    expect(codes.has('TIMEOUT')).toBe(true);
    expect([...codes].filter((c) => c !== 'ok' && c !== 'TIMEOUT')).toEqual([]);

    // After the stall: new signals are acked and arrive after everything before them.
    await stream(alice, bobId, 600, 700, 10);
    await until(() => got.size === 700, 10_000, 'the answers after recovery');
    expect([...got.entries()].filter(([id, a]) => id >= 1_000_600 && !a[0]!.ok)).toEqual([]);
    await until(() => received(bob).includes(699), 10_000, 'the last signal');
    const order = received(bob);
    expect(order.filter((n, i) => i > 0 && n <= order[i - 1]!)).toEqual([]);
    for (const [id, a] of got) {
      if (a[0]!.ok) {
        expect(order).toContain(id - 1_000_000);
      }
    }
  }, 60_000);

  it('the other node killed (SIGKILL) mid-stream: one answer per request within its timeout, then peer.left node_lost', async () => {
    const { b, alice, bobId } = await pair(FAST);
    const got = answers(alice);
    let killedAt = 0;
    await stream(alice, bobId, 0, 400, 5, (n) => {
      if (n === 200) {
        b.signal('SIGKILL');
        killedAt = Date.now();
      }
    });
    await until(() => got.size === 400, REQUEST_TIMEOUT_MS + 5_000, 'an answer to every request');
    expect([...got.values()].filter((a) => a.length !== 1)).toEqual([]);
    const failed = [...got.entries()].filter(([, a]) => !a[0]!.ok);
    expect(failed.every(([, a]) => ['UNAVAILABLE', 'TIMEOUT', 'PEER_NOT_FOUND'].includes(a[0]!.code ?? ''))).toBe(true);
    expect(failed.map(([id]) => id - 1_000_000).filter((n) => n < 150)).toEqual([]);
    const left = await alice.nextEvent('peer.left', (e) => e.data.peerId === bobId, 15_000);
    expect(left.data.reason).toBe('node_lost');
    expect(Date.now() - killedAt).toBeLessThan(15_000);
  }, 60_000);
});
