import type { Clock } from '@heliograph/common';
import type { Logger } from '../shared/logger.js';
import type { ClusterMessage, NodeId } from './bus.js';
import { ClusterBus, type BusNodeOptions } from './cluster-bus.js';
import { Cluster } from 'ioredis';
import { connectRedis, LuaScript, openRedis, quitRedis, redisCall, keepAlive, type RedisClient, type RedisSettings } from './redis-connection.js';
import type { BusTransport, HeartbeatResult } from './transport.js';

/**
 * Drops expired nodes (and their link addresses), then registers ARGV[1] until now + ARGV[2] ms,
 * on Redis's clock (TIME), so that node clocks need not agree, with its link address ARGV[3]
 * when not empty. Returns { was it registered, every live node, the addresses as a flat list }.
 */
const HEARTBEAT = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, id in ipairs(expired) do
  redis.call('HDEL', KEYS[2], id)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local present = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
end
return { present and 1 or 0, redis.call('ZRANGE', KEYS[1], 0, -1), redis.call('HGETALL', KEYS[2]) }
`);

/**
 * Bus transport on Redis: a command connection (PUBLISH, the node registry) and a subscriber
 * connection. Both fail fast while Redis is down; `connected` is true only when both are ready,
 * and a return is reported so the bus can resubscribe. On a Redis Cluster it uses sharded
 * pub/sub (SPUBLISH / SSUBSCRIBE): each channel lives on one shard instead of every node.
 */
export class RedisTransport implements BusTransport {
  readonly #pub: RedisClient;
  readonly #sub: RedisClient;
  readonly #sharded: boolean;
  readonly #registry: string;
  readonly #addresses: string;
  readonly #log: Logger;
  onFrame: (channel: string, frame: string) => void = () => undefined;
  onConnectionChange: (connected: boolean) => void = () => undefined;
  #up = false;
  #closed = false;
  #started = false;

  constructor(settings: RedisSettings, logger: Logger) {
    this.#pub = openRedis(settings, 'pub');
    this.#sub = openRedis(settings, 'sub');
    // The hash tag keeps the registry in the directory's slot on a Redis Cluster.
    this.#registry = `{${settings.prefix ?? 'hg'}}:nodes`;
    this.#addresses = `{${settings.prefix ?? 'hg'}}:nodeaddrs`;
    this.#log = logger;
    this.#sharded = this.#sub instanceof Cluster;
    this.#sub.on(this.#sharded ? 'smessage' : 'message', (channel: string, message: string) => this.onFrame(channel, message));
    for (const r of [this.#pub, this.#sub]) {
      keepAlive(r, 'bus', logger, () => !this.#closed && this.#started);
      r.on('ready', () => this.#update());
      r.on('close', () => this.#update());
    }
  }

  get connected(): boolean {
    return this.#up;
  }

  async connect(): Promise<void> {
    await Promise.all([connectRedis(this.#pub), connectRedis(this.#sub)]).catch(async (err: unknown) => {
      await this.close();
      throw err;
    });
    this.#started = true;
    this.#update();
  }

  publish(channel: string, frame: string): Promise<number> {
    return redisCall(async () => (this.#sharded ? Number(await this.#pub.spublish(channel, frame)) : this.#pub.publish(channel, frame)));
  }

  async subscribe(channel: string): Promise<void> {
    await redisCall(() => (this.#sharded ? this.#sub.ssubscribe(channel) : this.#sub.subscribe(channel)));
  }

  async unsubscribe(channel: string): Promise<void> {
    await redisCall(() => (this.#sharded ? this.#sub.sunsubscribe(channel) : this.#sub.unsubscribe(channel)));
  }

  async heartbeat(nodeId: NodeId, ttlMs: number, address?: string): Promise<HeartbeatResult> {
    const reply = await HEARTBEAT.run(this.#pub, [this.#registry, this.#addresses], [nodeId, ttlMs, address ?? '']);
    return readHeartbeat(reply);
  }

  async leave(nodeId: NodeId): Promise<void> {
    await redisCall(() => this.#pub.multi().zrem(this.#registry, nodeId).hdel(this.#addresses, nodeId).exec());
  }

  /** Drops both connections without leaving the registry, like `kill -9` (for fault tests). */
  crash(): void {
    this.#closed = true;
    this.#pub.disconnect();
    this.#sub.disconnect();
    this.#update();
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    await Promise.all([quitRedis(this.#pub), quitRedis(this.#sub)]);
    this.#update();
  }

  #update(): void {
    const up = !this.#closed && this.#pub.status === 'ready' && this.#sub.status === 'ready';
    if (up !== this.#up) {
      this.#up = up;
      this.#log.info({ connected: up }, up ? 'cluster: redis connected' : 'cluster: redis disconnected');
      this.onConnectionChange(up);
    }
  }
}

/** The script's reply, checked: what Redis returns is read as strings and numbers, not cast. */
function readHeartbeat(reply: unknown): HeartbeatResult {
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const [present, members, flat] = (Array.isArray(reply) ? reply : []) as unknown[];
  const list = strings(flat);
  const addresses: Record<NodeId, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) {
    addresses[list[i]!] = list[i + 1]!;
  }
  return { wasPresent: present === 1, members: strings(members), addresses };
}

export interface RedisBusOptions<M extends ClusterMessage = ClusterMessage> extends BusNodeOptions<M> {
  redis: RedisSettings;
  clock: Clock;
}

/** A bus over Redis pub/sub, with the node registry in a sorted set. */
export function createRedisBus<M extends ClusterMessage = ClusterMessage>(options: RedisBusOptions<M>): { bus: ClusterBus<M>; transport: RedisTransport } {
  const { redis, ...node } = options;
  const transport = new RedisTransport(redis, options.logger);
  const bus = new ClusterBus<M>({ ...node, transport, prefix: redis.prefix });
  return { bus, transport };
}
