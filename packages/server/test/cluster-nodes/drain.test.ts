import { HeliographClient, type ClientEvents, type EventData } from '@heliograph/client';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { nodeToken } from '../helpers/node-process.js';
import { haveTool } from '../helpers/require-tool.js';
import { startTcpBalancer, type TcpBalancer } from '../helpers/tcp-balancer.js';
import { NO_RATE_LIMIT, useNodeCluster, within } from './fixture.js';

/**
 * A rolling restart: a node sent SIGTERM tells its clients `server.draining`; clients of the real
 * SDK, behind a TCP load balancer that checks `/readyz`, leave it (close 4302) and reconnect to
 * another node, which takes their sessions over from the draining one: same peer, nothing lost,
 * the others see `peer.reconnecting` then `peer.reconnected`, never a leave.
 */

// haveTool throws under CI=true when redis-server is missing, so this never skips in CI.
const hasRedis = haveTool('redis-server', 'redis-server');

/** The next `event` of `client` that `match`es, within `timeoutMs`. */
function nextOf<K extends keyof ClientEvents>(
  client: HeliographClient,
  event: K,
  match: (...args: ClientEvents[K]) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<ClientEvents[K]> {
  return within(
    new Promise<ClientEvents[K]>((resolve) => {
      const off = client.on(event, (...args: ClientEvents[K]) => {
        if (match(...args)) {
          off();
          resolve(args);
        }
      });
    }),
    timeoutMs,
    `${event} on the SDK client`,
  );
}

describe.skipIf(!hasRedis)('a cluster of node processes: SIGTERM drain behind a load balancer', () => {
  const cluster = useNodeCluster();

  async function sdkClient(balancer: TcpBalancer, userId: string): Promise<HeliographClient> {
    const client = new HeliographClient({ url: balancer.wsUrl, token: () => nodeToken(userId), WebSocket });
    cluster.onStop(() => client.close());
    await within(client.connect(), 10_000, `${userId} to connect`);
    return client;
  }

  // Through Redis, and with direct links between the nodes (a drained node's links close with it).
  const LINKS = ['--cluster.link-secret', 'drain-test-link-secret-0123456789', '--cluster.link-host', '127.0.0.1'];
  it.each([
    ['', []],
    [' (direct links)', LINKS],
  ])(
    'moves the clients of a draining node to another node: they resume there, the same peer, seen reconnecting, never leaving%s',
    async (_name, links) => {
      const nodes = await cluster.start(2, ['--drain.timeout-ms', '5000', '--drain.reconnect-within-ms', '500', ...links]);
      const balancer = await startTcpBalancer(nodes.map((n) => n.url));
      cluster.onStop(() => balancer.close());
      // Round robin: the first client lands on one node, the second on the other.
      const sam = await sdkClient(balancer, 'sam');
      const pat = await sdkClient(balancer, 'pat');
      const [samNode, patNode] = balancer.routed;
      expect(samNode).toBeDefined();
      expect(patNode).not.toBe(samNode);
      const draining = nodes.find((n) => n.url === samNode);
      if (!draining) {
        throw new Error('the first client went to no known node');
      }

      const samFirst = await sam.join({ room: 'rolling' });
      const patJoin = await pat.join({ room: 'rolling' });
      expect(patJoin.peers.map((p) => p.id)).toEqual([samFirst.peer.id]);

      const notice = nextOf(sam, 'server.draining');
      const resumed = nextOf(sam, 'resumed');
      const reconnecting = nextOf(pat, 'peer.reconnecting', (e: EventData<'peer.reconnecting'>) => e.peerId === samFirst.peer.id);
      const back = nextOf(pat, 'peer.reconnected', (e: EventData<'peer.reconnected'>) => e.peerId === samFirst.peer.id);
      let rejoined = false;
      sam.on('rejoined', () => (rejoined = true));
      let left = false;
      pat.on('peer.left', () => (left = true));
      draining.signal('SIGTERM');

      const [drainNotice] = await notice;
      expect(drainNotice.reconnectWithinMs).toBe(500);
      const [again] = await resumed;
      expect(again.peer?.id).toBe(samFirst.peer.id);
      // The reconnect went through the balancer to the node that is still ready.
      expect(balancer.routed.at(-1)).toBe(patNode);
      await reconnecting;
      await back;

      // They are on one node now; a signal each way still works.
      const toPat = nextOf(pat, 'signal', (e: EventData<'signal'>) => e.from === samFirst.peer.id);
      await sam.request('signal.send', { to: patJoin.peer.id, signal: { type: 'offer', sdp: 'v=0' } });
      expect((await toPat)[0].signal).toEqual({ type: 'offer', sdp: 'v=0' });
      const toSam = nextOf(sam, 'signal', (e: EventData<'signal'>) => e.from === patJoin.peer.id);
      await pat.request('signal.send', { to: samFirst.peer.id, signal: { type: 'answer', sdp: 'v=0' } });
      expect((await toSam)[0].signal).toEqual({ type: 'answer', sdp: 'v=0' });
      expect(rejoined).toBe(false);
      expect(left).toBe(false);

      // With its sessions handed over, the drained node shuts down cleanly, well before its drain timeout.
      expect(await within(draining.exited, 10_000, 'the drained node to exit')).toEqual({ code: 0, signal: null });
    },
    60_000,
  );

  it.each([
    ['', []],
    [' (direct links)', LINKS],
  ])(
    'drains a node holding 50 of 100 sessions while every pair keeps sending across nodes: nothing lost, nothing twice, nobody rejoins%s',
    async (_name, links) => {
      const nodes = await cluster.start(2, ['--drain.timeout-ms', '20000', '--drain.reconnect-within-ms', '1000', ...NO_RATE_LIMIT, ...links]);
      const balancer = await startTcpBalancer(nodes.map((n) => n.url));
      cluster.onStop(() => balancer.close());
      const clients: HeliographClient[] = [];
      for (let i = 0; i < 100; i++) {
        clients.push(await sdkClient(balancer, `u${i}`));
      }
      // Round robin: u0, u2… on one node and u1, u3… on the other, so every pair is split.
      const drainingUrl = balancer.routed[0];
      const draining = nodes.find((n) => n.url === drainingUrl)!;
      const ids: string[] = [];
      for (let i = 0; i < 100; i++) {
        ids.push((await clients[i]!.join({ room: `pair-${i >> 1}` })).peer.id);
      }
      const got = clients.map(() => [] as number[]);
      const troubles: string[] = [];
      clients.forEach((client, i) => {
        client.on('data', (e) => got[i]!.push((e.payload as { n: number }).n));
        client.on('rejoined', () => troubles.push(`u${i} rejoined`));
        client.on('rejoin.failed', () => troubles.push(`u${i} rejoin failed`));
        client.on('peer.left', (e) => troubles.push(`u${i} saw ${e.peerId} leave (${e.reason})`));
      });
      const resumed = clients.filter((_, i) => i % 2 === 0).map((client) => nextOf(client, 'resumed', () => true, 20_000));

      const COUNT = 30;
      /** Sends 0…COUNT-1 to its partner, one at a time; waits out its own reconnect and sends again. */
      const send = async (i: number): Promise<void> => {
        const client = clients[i]!;
        const to = ids[i ^ 1]!;
        for (let n = 0; n < COUNT;) {
          try {
            await client.request('data.send', { to, payload: { n } });
            n++;
            await new Promise((r) => setTimeout(r, 40));
          } catch (err) {
            if (client.state === 'open' || (err as { code?: string }).code !== 'UNAVAILABLE') {
              throw err;
            }
            await new Promise((r) => setTimeout(r, 20)); // not connected: never sent, so send it again
          }
        }
      };
      const sending = Promise.all(clients.map((_, i) => send(i)));
      await new Promise((r) => setTimeout(r, 300));
      draining.signal('SIGTERM');
      const moved = await within(Promise.all(resumed), 30_000, "the draining node's 50 clients to resume elsewhere");
      expect(moved.every(([r]) => r.peer !== undefined)).toBe(true);
      await within(sending, 30_000, 'every client to send all it had');
      const all = Array.from({ length: COUNT }, (_, n) => n);
      const deadline = Date.now() + 10_000;
      while (got.some((g) => g.length < COUNT) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 200));
      const wrong = got.map((g, i) => ({ i, g })).filter(({ g }) => JSON.stringify(g) !== JSON.stringify(all));
      expect(wrong.map(({ i, g }) => `u${i}: ${g.join(',')}`)).toEqual([]);
      expect(troubles).toEqual([]);
      expect(await within(draining.exited, 20_000, 'the drained node to exit')).toEqual({ code: 0, signal: null });
    },
    120_000,
  );
});
