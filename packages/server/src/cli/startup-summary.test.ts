import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { ClusterNode } from '../cluster/cluster-node.js';
import type { PixelStreaming } from '../pixel-streaming/pixel-streaming.js';
import { startupSummary } from './startup-summary.js';

function config(argv: string[]): Config {
  const result = loadConfig({ argv: ['--data-dir', '/srv/hg', ...argv], env: {}, cwd: '/' });
  if ('errors' in result) {
    throw new Error(result.errors.join('\n'));
  }
  return result.config;
}

const KEY = JSON.stringify([{ id: 'ops', key: 'k'.repeat(32), scope: 'read' }]);

describe('startupSummary', () => {
  it('tells a newcomer about the defaults: demo, open sign-up, no control API key, a fresh secret', () => {
    expect(startupSummary(config([]), { url: 'http://127.0.0.1:8080', secretOrigin: 'generated', pixelStreaming: undefined, cluster: undefined })).toEqual([
      'WebSocket endpoint: ws://127.0.0.1:8080/ws',
      'Demo app: http://127.0.0.1:8080/ (open it in two browser windows and sign up as two users to try a call)',
      'Sign-up is open: anyone who can reach this server may create an account (POST /v1/auth/signup); close it with --auth.signup false',
      'Control API at http://127.0.0.1:8080/v1: no key configured (controlApi.keys), so every call is refused',
      'Data directory: /srv/hg; generated a new signing secret in /srv/hg/jwt-secret (keep it private: it signs every token)',
    ]);
  });

  it('says what is closed, configured or kept, with links a browser can open', () => {
    const lines = startupSummary(
      config(['--demo.enabled', 'false', '--auth.signup', 'false', '--control-api.keys', KEY, '--tls.cert', 'c', '--tls.key', 'k']),
      { url: 'https://0.0.0.0:8443', secretOrigin: 'stored', pixelStreaming: undefined, cluster: undefined },
    );
    expect(lines).toEqual([
      'WebSocket endpoint: wss://localhost:8443/ws',
      'Sign-up is closed (auth.signup): add accounts with `npx heliograph users add <username>`',
      'Control API at https://localhost:8443/v1 (reference at https://localhost:8443/v1/docs): 1 key configured',
      'Data directory: /srv/hg; signing secret from /srv/hg/jwt-secret',
    ]);
    expect(startupSummary(config(['--auth.accounts', 'false']), { url: 'http://127.0.0.1:1', secretOrigin: 'configured', pixelStreaming: undefined, cluster: undefined })).toContain(
      'Built-in accounts are off (auth.accounts): only tokens signed for your backend get in',
    );
  });

  it('with :memory: says that nothing is kept and tokens die with the process', () => {
    const lines = startupSummary(config(['--data-dir', ':memory:']), { url: 'http://127.0.0.1:1', secretOrigin: 'memory', pixelStreaming: undefined, cluster: undefined });
    expect(lines).toContain(
      'Data directory: none (:memory:): accounts and webhook events are lost at exit, and the signing secret was generated in memory and is not persisted: tokens die with the process',
    );
  });

  it('names the Pixel Streaming ports and the cluster node, without the Redis password', () => {
    const lines = startupSummary(config(['--pixel-streaming.enabled', '--redis', 'redis://:s3cret@10.0.0.5:6379']), {
      url: 'http://127.0.0.1:8080',
      secretOrigin: 'configured',
      pixelStreaming: { ports: { streamer: 8888, sfu: undefined } } as unknown as PixelStreaming,
      cluster: { nodeId: 'ND_1' } as unknown as ClusterNode,
    });
    expect(lines.slice(-2)).toEqual([
      'Pixel Streaming: players on ws://127.0.0.1:8080 (any path but /ws), streamers on ws://127.0.0.1:8888, no SFU port',
      'Cluster: node ND_1 joined over Redis at redis://:[redacted]@10.0.0.5:6379',
    ]);
  });
});
