import { createHash } from 'node:crypto';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { AppError } from '../shared/app-error.js';
import type { Logger } from '../shared/logger.js';
import { isErrorCode } from '@heliograph/protocol';

export interface RedisSettings {
  /**
   * `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS); through Sentinel:
   * `redis-sentinel://[:pass@]host:port[,host:port…]/<master name>[/db]`; a Redis Cluster:
   * `redis-cluster://[:pass@]host:port[,host:port…]` (sharded pub/sub).
   */
  url: string;
  /** A command not answered within this is failed with UNAVAILABLE (a hung or partitioned Redis). */
  commandTimeoutMs?: number | undefined;
  /** Longest wait between reconnection attempts. */
  maxReconnectDelayMs?: number | undefined;
  /** Prefix of every key and channel, so that clusters can share one Redis. */
  prefix?: string | undefined;
}

/** A connection to one Redis (direct or through Sentinel) or to a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/**
 * A connection that fails fast: no offline queue (a command while disconnected rejects at
 * once), no per-command retries across reconnects, a command timeout, and endless reconnection
 * with capped backoff. Started by `connect()`; `lazyConnect` so that construction does no I/O.
 */
export function openRedis(settings: RedisSettings, role: string): RedisClient {
  const maxDelay = settings.maxReconnectDelayMs ?? 2_000;
  const retry = (times: number): number => Math.min(50 * 2 ** Math.min(times, 10), maxDelay);
  const options: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResubscribe: false, // the bus restores its own subscriptions on 'ready'
    commandTimeout: settings.commandTimeoutMs ?? 2_000,
    connectTimeout: 5_000,
    retryStrategy: retry,
    connectionName: `heliograph-${role}`,
  };
  const cluster = parseClusterUrl(settings.url);
  if (cluster) {
    const { lazyConnect, enableOfflineQueue, retryStrategy, ...perNode } = options;
    const clusterOptions: ClusterOptions = {
      lazyConnect,
      enableOfflineQueue,
      clusterRetryStrategy: retryStrategy ?? retry,
      // The subscriber keeps one connection per shard for SSUBSCRIBE.
      shardedSubscribers: role === 'sub',
      redisOptions: { ...perNode, ...(cluster.password ? { password: cluster.password } : {}) },
    };
    return new Cluster(cluster.nodes, clusterOptions);
  }
  const sentinel = parseSentinelUrl(settings.url);
  if (sentinel) {
    // Not `failoverDetector`: in ioredis 6 it can end a connection that is reconnecting (found by
    // the Sentinel failover test); reconnecting with backoff finds the new master anyway.
    return new Redis({ ...options, ...sentinel, sentinelRetryStrategy: retry });
  }
  return new Redis(settings.url, options);
}

/** The seed nodes (and password) of a `redis-cluster://` URL, or undefined for any other URL. */
export function parseClusterUrl(url: string): { nodes: Array<{ host: string; port: number }>; password?: string } | undefined {
  if (!url.startsWith('redis-cluster:')) {
    return undefined;
  }
  const m = /^redis-cluster:\/\/(?:(?:[^:@/]*):([^@/]*)@)?([^/]+)\/?$/.exec(url);
  if (!m) {
    throw new AppError('BAD_REQUEST', 'A Redis Cluster URL is redis-cluster://[:pass@]host:port[,host:port…]');
  }
  const [, password, hosts] = m;
  return { nodes: hostPorts(hosts!, 6379), ...(password ? { password: decodeURIComponent(password) } : {}) };
}

function hostPorts(list: string, defaultPort: number): Array<{ host: string; port: number }> {
  return list.split(',').map((hp) => {
    const at = hp.lastIndexOf(':');
    return at < 0 ? { host: hp, port: defaultPort } : { host: hp.slice(0, at), port: Number(hp.slice(at + 1)) };
  });
}

/** The ioredis Sentinel options of a `redis-sentinel://` URL, or undefined for any other URL. */
export function parseSentinelUrl(url: string): Pick<RedisOptions, 'sentinels' | 'name' | 'password' | 'db'> | undefined {
  const m = /^redis-sentinel:\/\/(?:(?:[^:@/]*):([^@/]*)@)?([^/]+)\/([^/]+)(?:\/(\d+))?\/?$/.exec(url);
  if (!url.startsWith('redis-sentinel:')) {
    return undefined;
  }
  if (!m) {
    throw new AppError('BAD_REQUEST', 'A Sentinel URL is redis-sentinel://[:pass@]host:port[,host:port…]/<master name>[/db]');
  }
  const [, password, hosts, name, db] = m;
  const sentinels = hostPorts(hosts!, 26379);
  return {
    sentinels,
    name: decodeURIComponent(name!),
    ...(password ? { password: decodeURIComponent(password) } : {}),
    ...(db ? { db: Number(db) } : {}),
  };
}

/**
 * Keeps a connection alive for good: should ioredis ever give up on it ('end') while we still want
 * it, connect again. `wanted()` is false once the owner closed it. Errors are only logged: without
 * a listener an 'error' event would crash the process, and the state change is what counts.
 */
export function keepAlive(redis: RedisClient, role: string, logger: Logger, wanted: () => boolean): void {
  redis.on('error', (err: Error) => logger.debug({ err: err.message }, `cluster: redis ${role} error`));
  redis.on('end', () => {
    if (wanted()) {
      logger.warn(`cluster: redis ${role} connection ended; reconnecting`);
      setImmediate(() => {
        if (wanted() && redis.status === 'end') {
          redis.connect().catch(() => undefined); // failures go through the retry strategy
        }
      });
    }
  });
}

/** Connects, or fails with UNAVAILABLE (and stops retrying) when Redis cannot be reached. */
export async function connectRedis(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') {
    return;
  }
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new AppError('UNAVAILABLE', `Redis is unreachable: ${(err as Error).message}`);
  }
}

/** QUIT when connected (flushes replies), else just stop reconnecting. */
export async function quitRedis(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') {
    await redis.quit().catch(() => redis.disconnect());
  } else {
    redis.disconnect();
  }
}

/** Error replies of a Redis that is starting, failing over or missing part of its cluster. */
const TRANSIENT_REPLIES = new Set(['LOADING', 'BUSY', 'CLUSTERDOWN', 'TRYAGAIN', 'MASTERDOWN', 'READONLY', 'NOREPLICAS']);

/**
 * A Redis failure as an AppError. Error replies our scripts raise on purpose (`ROOM_FULL …`)
 * keep their code; connection errors, timeouts and refused commands become UNAVAILABLE.
 */
export function redisError(err: unknown): AppError {
  if (err instanceof AppError) {
    return err;
  }
  // Whatever was thrown: ioredis throws Errors, but a script or a proxy may give anything.
  const e = (typeof err === 'object' && err !== null ? err : {}) as { name?: unknown; message?: unknown };
  if (e.name === 'ReplyError' && typeof e.message === 'string') {
    const [code, ...rest] = e.message.split(' ');
    if (isErrorCode(code)) {
      return new AppError(code, rest.join(' ') || undefined);
    }
    if (TRANSIENT_REPLIES.has(code!)) {
      return new AppError('UNAVAILABLE', `Redis is unavailable: ${e.message}`);
    }
    return new AppError('INTERNAL', `Redis replied: ${e.message}`);
  }
  return new AppError('UNAVAILABLE', `Redis is unavailable: ${typeof e.message === 'string' ? e.message : String(err)}`);
}

export async function redisCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw redisError(err);
  }
}

/** A Lua script run by its SHA, loaded again when Redis answers NOSCRIPT (after a restart). */
export class LuaScript {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: RedisClient, keys: string[], args: Array<string | number>): Promise<unknown> {
    return redisCall(async () => {
      try {
        return await redis.evalsha(this.#sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
          return redis.eval(this.#source, keys.length, ...keys, ...args);
        }
        throw err;
      }
    });
  }
}
