import type { Event } from '@heliograph/protocol';
import { describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { startCutProxy } from '../helpers/cut-proxy.js';
import { nodeToken, type NodeProcess } from '../helpers/node-process.js';
import { haveTool } from '../helpers/require-tool.js';
import { NO_RATE_LIMIT, useNodeCluster, within } from './fixture.js';

/**
 * Session resume across nodes, with node processes over a real redis-server: a client whose
 * connection drops comes back on another node (a load balancer does not remember it) and takes
 * its session over from the node holding it, while its partners on both nodes keep sending.
 */

// haveTool throws under CI=true when redis-server is missing, so this never skips in CI.
const hasRedis = haveTool('redis-server', 'redis-server');

type Credentials = { session: string; secret: string; windowMs: number };

const lastSeq = (client: TestClient): number => client.log.at(-1)?.seq ?? 0;

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** What `from` sent `client` as `kind` (signals or room data), by the `n` each carried. */
function numbers(events: readonly Event[], kind: 'signal' | 'data', from: string): number[] {
  return events.flatMap((e) => {
    if (e.type === 'signal' && kind === 'signal' && e.data.from === from) {
      return [(e.data.signal as { n: number }).n];
    }
    if (e.type === 'data' && kind === 'data' && e.data.from === from) {
      return [(e.data.payload as { n: number }).n];
    }
    return [];
  });
}

/** `count` signals to `to` and as many room broadcasts, one pair every `everyMs`; resolves with every ack. */
async function stream(client: TestClient, to: string, first: number, count: number, everyMs: number): Promise<unknown[]> {
  const acks: Array<Promise<unknown>> = [];
  for (let n = first; n < first + count; n++) {
    acks.push(client.ok('signal.send', { to, signal: { n } }));
    acks.push(client.ok('data.send', { payload: { n } }));
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return Promise.all(acks);
}

describe.skipIf(!hasRedis)('session resume across nodes (node processes, real redis-server)', () => {
  const cluster = useNodeCluster();

  /** Alice and carol on `home`, bob on `other`, all in room `r`; alice's socket is then reset. */
  async function aliceDropped(home: NodeProcess, other: NodeProcess) {
    const alice = await cluster.client(home, 'alice');
    const creds = (await alice.nextEvent('session.ready')).data.resume as Credentials;
    const a = await alice.ok('room.join', { room: 'r' });
    const carol = await cluster.client(home, 'carol');
    const c = await carol.ok('room.join', { room: 'r' });
    const bob = await cluster.client(other, 'bob');
    const b = await bob.ok('room.join', { room: 'r' });
    await alice.nextEvent('peer.joined', (e) => e.data.peer.id === b.peer.id);
    const seen = lastSeq(alice);
    alice.ws.terminate(); // a reset: the node sees the socket end without a close frame
    await bob.nextEvent('peer.reconnecting', (e) => e.data.peerId === a.peer.id);
    await carol.nextEvent('peer.reconnecting', (e) => e.data.peerId === a.peer.id);
    return { creds, seen, alice: a.peer.id, carol, carolId: c.peer.id, bob, bobId: b.peer.id };
  }

  // Through Redis, and with requests between the nodes over direct links.
  const LINKS = ['--cluster.link-secret', 'resume-test-link-secret-0123456789', '--cluster.link-host', '127.0.0.1'];
  /**
   * Two nodes, home and other; the one named `late` reaches Redis through a proxy that delays
   * each way by 25 ms, so it hears room events well after a request over a direct link.
   */
  async function startPair(args: string[], late: 'home' | 'other' | undefined): Promise<NodeProcess[]> {
    if (late === undefined) {
      return cluster.start(2, args);
    }
    const redis = await cluster.startRedis();
    const proxy = await startCutProxy(new URL(redis.url).host, { delayMs: 25 });
    cluster.onStop(() => proxy.close());
    const [slow] = await cluster.startNodes(1, args, `redis://${proxy.address}`);
    const [fast] = await cluster.startNodes(1, args);
    return late === 'home' ? [slow!, fast!] : [fast!, slow!];
  }

  it.each<[string, string[], 'home' | 'other' | undefined]>([
    ['', [], undefined],
    [' (direct links)', LINKS, undefined],
    // The old node snapshots the session before it hears the new node's latest room events, and
    // forwards them after: the new node must not give its later ones first.
    [' (direct links; the old node hears Redis late)', LINKS, 'home'],
    [' (direct links; the new node hears Redis late)', LINKS, 'other'],
  ])(
    'resumes on another node: the same peer, every event once and in order, while partners on both nodes keep sending%s',
    async (_name, links, late) => {
      const [home, other] = await startPair([...NO_RATE_LIMIT, ...links], late);
      if (links.length > 0) {
        const linked = (n: NodeProcess) => n.output().includes('cluster links: link up');
        await until(() => linked(home!) && linked(other!), 'both nodes to link');
      }
      const { creds, seen, alice, carol, carolId, bob, bobId } = await aliceDropped(home!, other!);

      // Meanwhile: queued for alice, from her own node and from the other.
      expect(await bob.ok('signal.send', { to: alice, signal: { n: 0 } })).toEqual({ queued: true });
      expect(await carol.ok('signal.send', { to: alice, signal: { n: 0 } })).toEqual({ queued: true });
      await bob.ok('data.send', { payload: { n: 0 } });
      await carol.ok('data.send', { payload: { n: 0 } });

      // Both keep sending while alice comes back on bob's node and takes her session over.
      const streams = Promise.all([stream(bob, alice, 1, 150, 2), stream(carol, alice, 1, 150, 2)]);
      await new Promise((r) => setTimeout(r, 40));
      const alice2 = await cluster.client(other!, 'alice');
      await alice2.nextEvent('session.ready');
      const answer = await alice2.request('session.resume', { session: creds.session, secret: creds.secret, lastSeq: seen });
      if (!answer.ok) {
        throw new Error(`resume failed: ${answer.error.code} ${answer.error.message}`);
      }
      expect(answer.data.peer?.id).toBe(alice);
      expect(answer.data.room?.id).toBe('r');
      // New credentials, naming the node that holds the session now.
      const moved = answer.data.resume as Credentials;
      expect(moved.session).not.toBe(creds.session);
      expect(moved.secret).not.toBe(creds.secret);

      const acks = await within(streams, 20_000, 'both streams to be acknowledged');
      expect(acks.filter((ack) => typeof ack !== 'object' || ack === null)).toEqual([]);
      const all = Array.from({ length: 151 }, (_, n) => n);
      await until(
        () => numbers(alice2.log, 'signal', bobId).length >= 151 && numbers(alice2.log, 'signal', carolId).length >= 151,
        'every signal to reach alice',
      );
      await until(
        () => numbers(alice2.log, 'data', bobId).length >= 151 && numbers(alice2.log, 'data', carolId).length >= 151,
        'every broadcast to reach alice',
      );
      await new Promise((r) => setTimeout(r, 200)); // anything extra (a duplicate) would show now
      expect(numbers(alice2.log, 'signal', bobId)).toEqual(all);
      expect(numbers(alice2.log, 'signal', carolId)).toEqual(all);
      expect(numbers(alice2.log, 'data', bobId)).toEqual(all);
      expect(numbers(alice2.log, 'data', carolId)).toEqual(all);
      // One numbering, continued: no gap, no repeat.
      const seqs = alice2.log.filter((e) => e.type !== 'session.ready').map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seen + 1 + i));

      // The others saw her reconnect, never leave.
      await bob.nextEvent('peer.reconnected', (e) => e.data.peerId === alice);
      await carol.nextEvent('peer.reconnected', (e) => e.data.peerId === alice);
      for (const client of [bob, carol]) {
        expect(client.log.filter((e) => e.type === 'peer.left')).toEqual([]);
      }

      // She signals both (bob now on her node, carol on the other), and both reach her.
      await alice2.ok('signal.send', { to: bobId, signal: { hi: 'bob' } });
      await alice2.ok('signal.send', { to: carolId, signal: { hi: 'carol' } });
      expect((await bob.nextEvent('signal', (e) => e.data.from === alice)).data.signal).toEqual({ hi: 'bob' });
      expect((await carol.nextEvent('signal', (e) => e.data.from === alice)).data.signal).toEqual({ hi: 'carol' });
      expect(await carol.ok('signal.send', { to: alice, signal: { n: 151 } })).toEqual({});
      expect(await bob.ok('signal.send', { to: alice, signal: { n: 151 } })).toEqual({});
      await until(() => numbers(alice2.log, 'signal', carolId).includes(151) && numbers(alice2.log, 'signal', bobId).includes(151), 'live signals');

      // And the session moves back, with the credentials the move gave.
      const seen2 = lastSeq(alice2);
      alice2.ws.terminate();
      await carol.nextEvent('peer.reconnecting', (e) => e.data.peerId === alice);
      await carol.ok('signal.send', { to: alice, signal: { n: 152 } });
      const alice3 = await cluster.client(home!, 'alice');
      await alice3.nextEvent('session.ready');
      const back = await alice3.ok('session.resume', { session: moved.session, secret: moved.secret, lastSeq: seen2 });
      expect(back.peer?.id).toBe(alice);
      await until(() => numbers(alice3.log, 'signal', carolId).includes(152), 'the signal sent while she was away');
      expect(numbers(alice3.log, 'signal', carolId)).toEqual([152]);
    },
    60_000,
  );

  it('takes a session over from a node that has not noticed the old connection die (a silent cut)', async () => {
    const [home, other] = await cluster.start(2, NO_RATE_LIMIT);
    const proxy = await startCutProxy(new URL(home!.url).host);
    cluster.onStop(() => proxy.close());
    const alice = await TestClient.open(`ws://${proxy.address}/ws`, await nodeToken('alice'));
    cluster.onStop(() => alice.ws.terminate());
    const creds = (await alice.nextEvent('session.ready')).data.resume as Credentials;
    const a = await alice.ok('room.join', { room: 'r' });
    const bob = await cluster.client(other!, 'bob');
    const b = await bob.ok('room.join', { room: 'r' });
    await alice.nextEvent('peer.joined');
    const seen = lastSeq(alice);

    proxy.cut(); // the home node still thinks alice is there, and writes to her dead socket
    for (let n = 0; n < 50; n++) {
      expect(await bob.ok('signal.send', { to: a.peer.id, signal: { n } })).toEqual({});
    }
    const alice2 = await cluster.client(other!, 'alice');
    await alice2.nextEvent('session.ready');
    const answer = await alice2.ok('session.resume', { session: creds.session, secret: creds.secret, lastSeq: seen });
    expect(answer.replayed).toBe(50);
    await until(() => numbers(alice2.log, 'signal', b.peer.id).length >= 50, 'the replay');
    expect(numbers(alice2.log, 'signal', b.peer.id)).toEqual(Array.from({ length: 50 }, (_, n) => n));
    // Nobody saw her drop: the move was silent.
    await bob.ok('signal.send', { to: a.peer.id, signal: { n: 50 } });
    await until(() => numbers(alice2.log, 'signal', b.peer.id).length >= 51, 'a live signal');
    expect(bob.log.filter((e) => e.type === 'peer.left' || e.type === 'peer.reconnecting')).toEqual([]);
  }, 60_000);

  it('refuses a wrong secret, another user and a session of a node that is gone', async () => {
    const [home, other] = await cluster.start(2);
    const { creds, seen } = await aliceDropped(home!, other!);

    const mallory = await cluster.client(other!, 'mallory');
    await mallory.nextEvent('session.ready');
    expect((await mallory.fail('session.resume', { session: creds.session, secret: creds.secret, lastSeq: seen })).code).toBe('FORBIDDEN');
    const guess = await cluster.client(other!, 'alice');
    await guess.nextEvent('session.ready');
    expect((await guess.fail('session.resume', { session: creds.session, secret: 'x'.repeat(32), lastSeq: seen })).code).toBe('FORBIDDEN');
    const unknown = await cluster.client(other!, 'alice');
    await unknown.nextEvent('session.ready');
    const made = creds.session.replace(/^SS_[^.]+/, 'SS_madeup');
    expect((await unknown.fail('session.resume', { session: made, secret: creds.secret, lastSeq: seen })).code).toBe('SESSION_EXPIRED');
    const elsewhere = await cluster.client(other!, 'alice');
    await elsewhere.nextEvent('session.ready');
    const gone = creds.session.replace(/\..*$/, '.ND_nosuchnode');
    expect((await elsewhere.fail('session.resume', { session: gone, secret: creds.secret, lastSeq: seen })).code).toBe('SESSION_EXPIRED');

    // The real owner still gets it after all that.
    const alice2 = await cluster.client(other!, 'alice');
    await alice2.nextEvent('session.ready');
    expect((await alice2.ok('session.resume', { session: creds.session, secret: creds.secret, lastSeq: seen })).replayed).toBe(0);
  }, 60_000);

  it('a node that crashes takes the sessions it holds: they cannot be resumed, the others see node_lost', async () => {
    const [home, other] = await cluster.start(2, ['--cluster.heartbeat-interval-ms', '200', '--cluster.heartbeat-ttl-ms', '800']);
    const { creds, seen, alice, bob } = await aliceDropped(home!, other!);
    // What the crash will take: exactly these, and bob was told each was only queued.
    const acks = [];
    for (let n = 0; n < 20; n++) {
      acks.push(await bob.ok('signal.send', { to: alice, signal: { n } }));
    }
    expect(acks).toEqual(Array.from({ length: 20 }, () => ({ queued: true })));

    home!.signal('SIGKILL');
    const left = await bob.nextEvent('peer.left', (e) => e.data.peerId === alice, 10_000);
    expect(left.data.reason).toBe('node_lost');
    const alice2 = await cluster.client(other!, 'alice');
    await alice2.nextEvent('session.ready');
    expect((await alice2.fail('session.resume', { session: creds.session, secret: creds.secret, lastSeq: seen })).code).toBe('SESSION_EXPIRED');
    // Measured: she lost the 20 queued signals (all the dead node held for her), nothing else.
    expect(alice2.log.filter((e) => e.type === 'signal')).toEqual([]);
  }, 60_000);
});
