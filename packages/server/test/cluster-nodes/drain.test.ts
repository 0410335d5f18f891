import { HeliographClient, type ClientEvents, type EventData } from '@heliograph/client';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { nodeToken } from '../helpers/node-process.js';
import { haveTool } from '../helpers/require-tool.js';
import { startTcpBalancer, type TcpBalancer } from '../helpers/tcp-balancer.js';
import { useNodeCluster, within } from './fixture.js';

/**
 * Acceptance tests of "Scale out over Redis" (see signalling.test.ts for what the folder proves),
 * on a rolling restart: a node sent SIGTERM tells its clients `server.draining`; clients of the
 * real SDK, behind a TCP load balancer that checks `/readyz`, reconnect to another node, join
 * their room again, and the peers there see them come back and can signal them.
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
  ])('moves the clients of a draining node to another node; they rejoin, are seen again and signal%s', async (_name, links) => {
    const nodes = await cluster.start(2, ['--drain.timeout-ms', '3000', '--drain.reconnect-within-ms', '500', ...links]);
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
    const rejoined = nextOf(sam, 'rejoined');
    const left = nextOf(pat, 'peer.left', (e: EventData<'peer.left'>) => e.peerId === samFirst.peer.id);
    const back = nextOf(pat, 'peer.joined', (e: EventData<'peer.joined'>) => e.peer.userId === 'sam');
    draining.signal('SIGTERM');

    const [drainNotice] = await notice;
    expect(drainNotice.reconnectWithinMs).toBe(500);
    const [again] = await rejoined;
    expect(again.peer.id).not.toBe(samFirst.peer.id);
    expect(again.peers.map((p) => p.id)).toEqual([patJoin.peer.id]);
    // The reconnect went through the balancer to the node that is still ready.
    expect(balancer.routed.at(-1)).toBe(patNode);
    await left;
    const [{ peer }] = await back;
    expect(peer.id).toBe(again.peer.id);

    // They are on one node now; a signal each way still works.
    const toPat = nextOf(pat, 'signal', (e: EventData<'signal'>) => e.from === again.peer.id);
    await sam.request('signal.send', { to: patJoin.peer.id, signal: { type: 'offer', sdp: 'v=0' } });
    expect((await toPat)[0].signal).toEqual({ type: 'offer', sdp: 'v=0' });
    const toSam = nextOf(sam, 'signal', (e: EventData<'signal'>) => e.from === patJoin.peer.id);
    await pat.request('signal.send', { to: again.peer.id, signal: { type: 'answer', sdp: 'v=0' } });
    expect((await toSam)[0].signal).toEqual({ type: 'answer', sdp: 'v=0' });

    // With its clients gone, the drained node shuts down cleanly, well before its drain timeout.
    expect(await within(draining.exited, 10_000, 'the drained node to exit')).toEqual({ code: 0, signal: null });
  }, 60_000);
});
