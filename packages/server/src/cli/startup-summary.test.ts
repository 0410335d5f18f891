import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { ClusterNode } from '../cluster/cluster-node.js';
import type { PsGateway } from '../pixel-streaming/ps-gateway.js';
import { ApiKeyStore } from '../control-api/api-key-store.js';
import { ApiKeys } from '../control-api/api-keys.js';
import { openDatabase } from '../storage/database.js';
import { startupSummary } from './startup-summary.js';

function config(argv: string[]): Config {
  const result = loadConfig({ argv: ['--data-dir', '/srv/hg', ...argv], env: {}, cwd: '/' });
  if ('errors' in result) {
    throw new Error(result.errors.join('\n'));
  }
  return result.config;
}

/** The keys of `config` and a store of stored keys (an in-memory database). */
function keys(cfg: Config, stored = 0): ApiKeys {
  const store = new ApiKeyStore(openDatabase(':memory:'));
  for (let i = 0; i < stored; i++) {
    store.create('read');
  }
  return new ApiKeys(cfg.controlApi.keys, store);
}

const KEY = JSON.stringify([{ id: 'ops', key: 'k'.repeat(32), scope: 'read' }]);

describe('startupSummary', () => {
  it('tells a newcomer about the defaults: demo, open sign-up, no control API key, a fresh secret', () => {
    const cfg = config([]);
    expect(
      startupSummary(cfg, { url: 'http://127.0.0.1:8080', secretOrigin: 'generated', pixelStreaming: undefined, cluster: undefined, apiKeys: keys(cfg) }),
    ).toEqual([
      'WebSocket endpoint: ws://127.0.0.1:8080/ws',
      'Demo app: http://127.0.0.1:8080/ (open it in two browser windows and sign up as two users to try a call)',
      'Sign-up is open: anyone who can reach this server may create an account (POST /v1/auth/signup); close it with --auth.signup false',
      'Control API at http://127.0.0.1:8080/v1: no API key yet, so every call is refused; create one with `npx heliograph keys create --scope read-write`',
      'Data directory: /srv/hg; generated a new signing secret in /srv/hg/jwt-secret (keep it private: it signs every token)',
    ]);
  });

  it('says what is closed, configured or kept, with links a browser can open', () => {
    const cfg = config(['--demo.enabled', 'false', '--auth.signup', 'false', '--control-api.keys', KEY, '--tls.cert', 'c', '--tls.key', 'k']);
    const lines = startupSummary(cfg, {
      url: 'https://0.0.0.0:8443',
      secretOrigin: 'stored',
      pixelStreaming: undefined,
      cluster: undefined,
      apiKeys: keys(cfg),
    });
    expect(lines).toEqual([
      'WebSocket endpoint: wss://localhost:8443/ws',
      'Sign-up is closed (auth.signup): add accounts with `npx heliograph users add <username>`',
      'Control API at https://localhost:8443/v1 (reference at https://localhost:8443/v1/docs): 1 key configured (controlApi.keys)',
      'Data directory: /srv/hg; signing secret from /srv/hg/jwt-secret',
    ]);
    const off = config(['--auth.accounts', 'false']);
    expect(
      startupSummary(off, { url: 'http://127.0.0.1:1', secretOrigin: 'configured', pixelStreaming: undefined, cluster: undefined, apiKeys: keys(off) }),
    ).toContain('Built-in accounts are off (auth.accounts): only tokens signed for your backend get in');
  });

  it('counts the keys of the configuration and of the database', () => {
    const cfg = config(['--control-api.keys', KEY]);
    const line = (apiKeys: ApiKeys) =>
      startupSummary(cfg, { url: 'http://127.0.0.1:1', secretOrigin: 'stored', pixelStreaming: undefined, cluster: undefined, apiKeys }).find((l) =>
        l.startsWith('Control API'),
      );
    expect(line(keys(cfg, 2))).toBe(
      'Control API at http://127.0.0.1:1/v1 (reference at http://127.0.0.1:1/v1/docs): 1 key configured (controlApi.keys), 2 keys in the database (npx heliograph keys list)',
    );
    const none = config([]);
    expect(line(new ApiKeys(none.controlApi.keys, keys(none, 1).stored))).toBe(
      'Control API at http://127.0.0.1:1/v1 (reference at http://127.0.0.1:1/v1/docs): 1 key in the database (npx heliograph keys list)',
    );
    const memory = config(['--data-dir', ':memory:']);
    expect(
      startupSummary(memory, { url: 'http://127.0.0.1:1', secretOrigin: 'memory', pixelStreaming: undefined, cluster: undefined, apiKeys: keys(memory) }),
    ).toContain('Control API at http://127.0.0.1:1/v1: no API key yet, so every call is refused; configure one in controlApi.keys');
  });

  it('with :memory: says that nothing is kept and tokens die with the process', () => {
    const cfg = config(['--data-dir', ':memory:']);
    const lines = startupSummary(cfg, { url: 'http://127.0.0.1:1', secretOrigin: 'memory', pixelStreaming: undefined, cluster: undefined, apiKeys: keys(cfg) });
    expect(lines).toContain(
      'Data directory: none (:memory:): accounts and webhook events are lost at exit, and the signing secret was generated in memory and is not persisted: tokens die with the process',
    );
  });

  it('names the Pixel Streaming ports and the cluster node, without the Redis password', () => {
    const cfg = config(['--pixel-streaming.enabled', '--redis', 'redis://:s3cret@10.0.0.5:6379']);
    const lines = startupSummary(cfg, {
      url: 'http://127.0.0.1:8080',
      apiKeys: keys(cfg),
      secretOrigin: 'configured',
      pixelStreaming: { ports: { streamer: 8888, sfu: undefined } } as unknown as PsGateway,
      cluster: { nodeId: 'ND_1' } as unknown as ClusterNode,
    });
    expect(lines.slice(-3)).toEqual([
      'Pixel Streaming: players on ws://127.0.0.1:8080 (any path but /ws), streamers on ws://127.0.0.1:8888, no SFU port',
      "Pixel Streaming player page: http://127.0.0.1:8080/player.html, Epic's frontend UI of UE 5.7 (?StreamerId=<id> picks a streamer)",
      'Cluster: node ND_1 joined over Redis at redis://:[redacted]@10.0.0.5:6379',
    ]);
  });
});
