import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RoomGrant } from '@heliograph/protocol';
import { Value } from 'typebox/value';
import type { Clock } from '@heliograph/common';
import { createHeliograph, type Heliograph } from '../../src/app.js';
import { ConfigSchema, type Config } from '../../src/config/schema.js';
import { createLogger, type Logger } from '../../src/shared/logger.js';

export const TEST_SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

/** `limits` that no test's burst of requests reaches: per connection, per user and per address. */
export const NO_RATE_LIMITS = {
  messagesPerSecond: 1e6,
  messageBurst: 100_000,
  userMessagesPerSecond: 1e6,
  userMessageBurst: 100_000,
  addressMessagesPerSecond: 1e6,
  addressMessageBurst: 100_000,
};

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

/** A complete, valid config: schema defaults, then test settings, then `overrides`. */
export function testConfig(dataDir: string, overrides: DeepPartial<Config> = {}): Config {
  const base = {
    port: 0,
    dataDir,
    log: { level: 'silent' },
    auth: { jwtSecret: TEST_SECRET },
  };
  const merged = merge(merge({}, base), overrides as Record<string, unknown>);
  return Value.Default(ConfigSchema, merged) as Config;
}

function merge(target: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(source)) {
    const current = target[key];
    if (value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object') {
      target[key] = merge({ ...(current as Record<string, unknown>) }, value as Record<string, unknown>);
    } else {
      target[key] = value;
    }
  }
  return target;
}

export interface TestServer {
  app: Heliograph;
  url: string;
  wsUrl: string;
  config: Config;
  /** A join token for `userId`, by default allowed to join and create every room. */
  token(userId: string, grants?: RoomGrant[], extra?: { name?: string; ttlSeconds?: number; metadata?: Record<string, unknown> }): Promise<string>;
  close(): Promise<void>;
}

/** Starts a real server on a free port with a temporary data directory. */
export async function startServer(overrides: DeepPartial<Config> = {}, options: { clock?: Clock; logger?: Logger } = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'heliograph-test-'));
  const config = testConfig(dataDir, overrides);
  const app = await createHeliograph(config, { logger: options.logger ?? createLogger('silent'), ...(options.clock ? { clock: options.clock } : {}) });
  const url = await app.listen();
  return {
    app,
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}/ws`,
    config,
    async token(userId, grants = [{ room: '*', join: true, create: true }], extra = {}) {
      const { token } = await app.signer.mint({
        userId,
        grants,
        ttlSeconds: extra.ttlSeconds ?? 3600,
        ...(extra.name ? { name: extra.name } : {}),
        ...(extra.metadata ? { metadata: extra.metadata } : {}),
      });
      return token;
    },
    async close() {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
