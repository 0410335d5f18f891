import { until } from '../helpers/wait.js';
import type { Config } from '../../src/config/schema.js';
import type { TestRedis } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { PsClient } from './ps-client.js';

/** One node of a test cluster, with the URLs of its three kinds of port. */
export interface PsNode {
  server: TestServer;
  playerUrl: string;
  streamerUrl: string;
  sfuUrl: string;
}

export type PsSettings = Partial<Omit<Config['pixelStreaming'], 'auth'>>;

/** More of each node's config: the control API, room defaults, webhooks, Redis command timeout. */
export interface NodeSettings {
  controlApi?: { keys: Array<{ id: string; key: string; scope: 'read' | 'read-write' }> };
  rooms?: { emptyTimeoutMs?: number; maxPeers?: number };
  webhooks?: { url?: string; secret?: string };
  redisCommandTimeoutMs?: number;
}

/**
 * Nodes of one cluster in this process on a real redis-server, with raw WebSocket peers; each
 * `twoNodes()` gets a key prefix of its own. `cleanup()` after each test.
 */
export class PsClusterHarness {
  #prefix = 0;
  readonly #nodes: PsNode[] = [];
  readonly #clients: PsClient[] = [];

  /** `links`: `cluster.linkSecret` and `linkHost` for requests between nodes over direct links; none: through Redis. */
  constructor(
    private readonly redis: () => TestRedis,
    private readonly links: { linkSecret?: string; linkHost?: string } = {},
  ) {}

  async twoNodes(ps: PsSettings = {}, more: NodeSettings = {}): Promise<[PsNode, PsNode]> {
    const { redisCommandTimeoutMs, ...config } = more;
    const redisConfig = { url: this.redis().url, prefix: `ps${++this.#prefix}`, commandTimeoutMs: redisCommandTimeoutMs ?? 500 };
    const cluster = { heartbeatIntervalMs: 100, heartbeatTtlMs: 600, requestTimeoutMs: 1_000, ...this.links };
    const pixelStreaming = { enabled: true, streamerPort: 0, sfuPort: 0, ...ps };
    const started: PsNode[] = [];
    for (let i = 0; i < 2; i++) {
      const server = await startServer({ redis: redisConfig, cluster, pixelStreaming, ...config });
      const ports = server.app.pixelStreaming!.ports;
      const base = server.url.replace(/^http/, 'ws');
      const host = base.replace(/:\d+$/, '');
      const node = { server, playerUrl: `${base}/`, streamerUrl: `${host}:${ports.streamer}/`, sfuUrl: `${host}:${ports.sfu}/` };
      this.#nodes.push(node);
      started.push(node);
    }
    if (this.links.linkSecret !== undefined) {
      await until(() => started.every((n) => n.server.app.cluster?.linksUp() === 1), 5_000, 'the nodes to link');
    }
    return [started[0]!, started[1]!];
  }

  async connect(url: string, name: string): Promise<PsClient> {
    const client = await PsClient.connect(url, name);
    this.#clients.push(client);
    return client;
  }

  /** §3.1 on `node`; returns the streamer once its `endpointIdConfirm` is read. */
  async streamerOn(node: PsNode, id: string, committed = id): Promise<PsClient> {
    const streamer = await this.connect(node.streamerUrl, `streamer ${id}`);
    await streamer.expect({ type: 'identify' });
    await streamer.expectType('config');
    streamer.send({ type: 'endpointId', id, protocolVersion: '1.0.0' });
    await streamer.expect({ type: 'endpointIdConfirm', committedId: committed });
    return streamer;
  }

  async playerOn(node: PsNode, name = 'player'): Promise<PsClient> {
    const player = await this.connect(node.playerUrl, name);
    await player.expectType('config');
    return player;
  }

  /** A player on `node` subscribed to `streamerId` (held by `streamer`); returns the id the streamer saw. */
  async subscribed(node: PsNode, streamer: PsClient, streamerId: string): Promise<{ player: PsClient; playerId: string }> {
    const player = await this.playerOn(node);
    player.send({ type: 'subscribe', streamerId });
    const connected = await streamer.expectType('playerConnected');
    // The player's node holds its next messages until the subscribe is settled: the pong says it is.
    await player.expectQuiet();
    return { player, playerId: connected.playerId as string };
  }

  async cleanup(): Promise<void> {
    for (const c of this.#clients.splice(0)) {
      c.ws.terminate();
    }
    await Promise.all(this.#nodes.splice(0).map((n) => n.server.close()));
  }
}
