import { execFile } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterMessage, NodeId } from '../../src/cluster/bus.js';
import { encodeJson, FrameReader, Kind } from '../../src/cluster/node-links/link-frames.js';
import { StartupError } from '../../src/shared/startup-error.js';
import { startCutProxy, type CutProxy } from '../helpers/cut-proxy.js';
import { haveTool } from '../helpers/require-tool.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { RedisLinksHarness, type TestNode } from './harness.js';

// haveTool() throws when CI=true and the tool is missing, so these skip only outside CI, loudly.
const present = haveTool('redis-server', 'redis-server');
type Ping = ClusterMessage & { n: number; data?: string };
const ping = (n: number, data?: string): Ping => (data === undefined ? { type: 'ping', n } : { type: 'ping', n, data });

/** How many PUBLISH commands Redis has run: a request on a link runs none. */
async function publishes(port: number): Promise<number> {
  const { stdout } = await promisify(execFile)('/usr/bin/redis-cli', ['-p', String(port), 'info', 'commandstats'], { timeout: 5_000 });
  return Number(/cmdstat_publish:calls=(\d+)/.exec(stdout)?.[1] ?? 0);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Resolves when the other end has closed `socket` (what it sent is read and dropped). */
const closed = (socket: Socket): Promise<void> =>
  new Promise((resolve) => {
    socket.on('error', () => undefined);
    socket.once('close', () => resolve());
    socket.resume();
  });

/**
 * A stream of requests from A to B, `perTick` at a time: B records the order it takes them in,
 * and every outcome is counted per request, so a test can check that each got exactly one.
 */
class Stream {
  readonly taken: number[] = [];
  readonly outcomes = new Map<number, string[]>();
  readonly okays: number[] = [];

  /** `answerAfterMs`: B answers that much later, so that requests pile up in flight on the path they took. */
  constructor(
    readonly a: TestNode,
    readonly b: TestNode,
    answerAfterMs = 0,
  ) {
    b.bus.onRequest((m, from) => {
      if (from === 'A') {
        this.taken.push((m as Ping).n);
      }
      return answerAfterMs === 0 ? {} : new Promise((r) => setTimeout(() => r({}), answerAfterMs));
    });
  }

  async run(count: number, perTick: number, at: Record<number, () => void | Promise<void>> = {}): Promise<void> {
    const all: Array<Promise<void>> = [];
    for (let n = 0; n < count; n++) {
      await at[n]?.();
      const outcome = (what: string): void => {
        this.outcomes.set(n, [...(this.outcomes.get(n) ?? []), what]);
      };
      all.push(
        this.a.bus.request('B', ping(n, `{"candidate":"${n}"}`), 1_000).then(
          () => {
            outcome('ok');
            this.okays.push(n);
          },
          (err: { code?: string }) => outcome(err.code ?? 'thrown'),
        ),
      );
      if (n % perTick === perTick - 1) {
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    await Promise.all(all);
  }

  /** Every request answered once; B took them in increasing order; every ok was taken. */
  check(count: number): void {
    expect(this.outcomes.size).toBe(count);
    expect([...this.outcomes.values()].filter((o) => o.length !== 1)).toEqual([]);
    for (let i = 1; i < this.taken.length; i++) {
      expect(this.taken[i]!, `B took ${this.taken[i]} after ${this.taken[i - 1]}`).toBeGreaterThan(this.taken[i - 1]!);
    }
    const taken = new Set(this.taken);
    expect(this.okays.filter((n) => !taken.has(n))).toEqual([]);
  }
}

describe.skipIf(!present)('direct links between nodes', () => {
  let redis: TestRedis;
  let h: RedisLinksHarness;
  let run = 0;
  const proxies: CutProxy[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    await h?.close();
    for (const p of proxies.splice(0)) {
      await p.close();
    }
  });
  const harness = () => (h = new RedisLinksHarness(() => redis.url, `links${++run}`));

  it('carries requests and their answers without Redis once linked, the payload as it was', async () => {
    harness();
    // Liveness as in production: with the harness's 600 ms, a loaded test machine can stall a
    // link dead for a moment, and the requests then rightly take Redis.
    const liveness = { pingMs: 2_000, deadMs: 6_000, maxBufferedBytes: 64 * 1024 * 1024 };
    const [a, b] = [await h.node('A', { liveness }), await h.node('B', { liveness })];
    b.bus.onRequest((m) => ({ n: (m as Ping).n, data: (m as Ping).data }));
    const before = await publishes(redis.port);
    const tricky = '{"sdp":"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1","emoji":"📞","quote":"\\""}';
    const replies = await Promise.all(Array.from({ length: 300 }, (_, n) => a.bus.request('B', ping(n, tricky))));
    expect(replies).toEqual(Array.from({ length: 300 }, (_, n) => ({ n, data: tricky })));
    expect(await publishes(redis.port)).toBe(before);
  });

  it('a request made after a publication reaches the other node after it, though it takes the shorter path', async () => {
    harness();
    const [a, b] = [await h.node('A'), await h.node('B')];
    const seen: string[] = [];
    await b.bus.subscribe('room:r1', (m) => seen.push(`pub ${(m as Ping).n}`));
    b.bus.onRequest((m) => {
      seen.push(`req ${(m as Ping).n}`);
      return {};
    });
    const before = await publishes(redis.port);
    const all: Array<Promise<unknown>> = [];
    for (let n = 0; n < 200; n++) {
      if (n % 50 === 0) {
        // Redis hangs for a moment now and then: the shorter path would win by far without the fence.
        redis.pause();
        setTimeout(() => redis.resume(), 100);
      }
      all.push(a.bus.publish('room:r1', ping(n)), a.bus.request('B', ping(n)));
      if (n % 10 === 9) {
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    await Promise.all(all);
    await h.eventually(() => seen.length === 400, 'every publication and request');
    const range = Array.from({ length: 200 }, (_, n) => n);
    expect(seen.filter((e) => e.startsWith('pub'))).toEqual(range.map((n) => `pub ${n}`));
    expect(seen.filter((e) => e.startsWith('req'))).toEqual(range.map((n) => `req ${n}`));
    expect(range.filter((n) => seen.indexOf(`req ${n}`) < seen.indexOf(`pub ${n}`))).toEqual([]);
    // The requests still took the link: Redis ran the publications' PUBLISHes (batched per tick), no request's.
    expect((await publishes(redis.port)) - before).toBeLessThanOrEqual(200);
  });

  it('a link port that cannot be had stops the node at start with a StartupError naming the setting', async () => {
    harness();
    const b = await h.node('B');
    const port = Number(b.links!.address!.split(':')[1]);
    const err = await h.node('C', { port }, false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupError);
    expect(String(err)).toMatch(/^StartupError: cluster\.linkPort: cannot listen for direct links between nodes on 127\.0\.0\.1:\d+ \(listen EADDRINUSE/);
  });

  it('refuses strangers: garbage, a forged handshake and a node with another secret never reach a handler', async () => {
    harness();
    const b = await h.node('B');
    const heard: NodeId[] = [];
    b.bus.onRequest((_m, from) => {
      heard.push(from);
      return {};
    });
    const [host, port] = b.links!.address!.split(':') as [string, string];

    const garbage = connect(Number(port), host);
    garbage.write(Buffer.from([0, 0, 0, 9, Kind.REQ, 1, 2, 3, 4, 5, 6, 7, 8]));
    await closed(garbage);

    // A stranger that skips the MAC, then one that forges it: both are cut off.
    for (const mac of ['', 'A'.repeat(43)]) {
      const forged = connect(Number(port), host);
      const reader = new FrameReader();
      forged.on('data', (chunk: Buffer) => {
        for (const frame of reader.push(chunk) ?? []) {
          if (frame.kind === Kind.HELLO) {
            forged.write(encodeJson(Kind.AUTH, { node: 'EVE', nonce: 'n'.repeat(32), mac }));
            forged.write(Buffer.from([0, 0, 0, 1, Kind.PING]));
          }
        }
      });
      await closed(forged);
    }

    // A node with the wrong secret never links, and its requests still arrive (through Redis).
    const eve = await h.node('EVE', { secret: 'another-secret-entirely-0123456789' }, false);
    await h.eventually(() => eve.bus.nodes().includes('B'), 'EVE to see B');
    await new Promise((r) => setTimeout(r, 300));
    expect(eve.links!.isUp('B')).toBe(false);
    await expect(eve.bus.request('B', ping(1))).resolves.toEqual({});
    expect(heard).toEqual(['EVE']);
  });

  it('keeps per-pair order and answers every request once across a link reset and a silent cut, then uses the link again', async () => {
    harness();
    const linkPort = await freePort();
    const proxy = await startCutProxy(`127.0.0.1:${linkPort}`);
    proxies.push(proxy);
    const proxyPort = Number(proxy.address.split(':')[1]);
    const b = await h.node('B', { port: linkPort, advertisePort: proxyPort });
    const a = await h.node('A');
    // B answers 5 ms late: when the link returns, requests are still in flight through Redis, and
    // the new ones must wait for them (held) instead of overtaking them on the link.
    const stream = new Stream(a, b, 5);
    const linkDown = () => h.eventually(() => !a.links!.isUp('B'), 'A to notice the link is gone');
    const linkUp = () => h.eventually(() => a.links!.isUp('B'), 'the link to come back');
    await stream.run(3_000, 2, {
      500: () => proxy.reset(),
      1_000: linkUp,
      // Cut without a word: A notices by the silence (liveness), fails what was on the link, goes on through Redis.
      1_500: async () => {
        proxy.cut();
        await linkDown();
      },
      2_000: linkUp,
    });
    stream.check(3_000);
    // What was in flight on a dropped link was told UNAVAILABLE (or TIMEOUT); what was sent after, by Redis or the new link, arrived.
    const failed = [...stream.outcomes.entries()].filter(([, o]) => o[0] !== 'ok');
    expect(failed.every(([, o]) => o[0] === 'UNAVAILABLE' || o[0] === 'TIMEOUT')).toBe(true);
    expect(failed.filter(([n]) => (n >= 1_000 && n < 1_400) || n >= 1_500)).toEqual([]);
    await linkUp();
    const before = await publishes(redis.port);
    await a.bus.request('B', ping(10_000));
    expect(await publishes(redis.port)).toBe(before);
    expect(stream.taken.at(-1)).toBe(10_000);
  }, 30_000);

  it('a node killed mid-stream: every request gets one answer within its timeout, and B is reported lost', async () => {
    harness();
    const [a, b] = [await h.node('A'), await h.node('B')];
    const lost: NodeId[] = [];
    a.bus.onNodeLost((id) => lost.push(id));
    const stream = new Stream(a, b);
    const started = Date.now();
    await stream.run(1_000, 20, { 500: () => b.crash() });
    stream.check(1_000);
    expect(Date.now() - started).toBeLessThan(1_000 + 5_000);
    expect(stream.okays.length).toBeGreaterThanOrEqual(400);
    expect([...stream.outcomes.entries()].filter(([n, o]) => n >= 500 && o[0] === 'ok')).toEqual([]);
    await h.eventually(() => lost.includes('B'), 'B to be reported lost');
  }, 30_000);
});
