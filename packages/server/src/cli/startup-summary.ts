import { join } from 'node:path';
import type { Heliograph } from '../app.js';
import type { Config } from '../config/schema.js';
import { redactUrlCredentials } from '../shared/logger.js';
import { isInMemory } from '../storage/data-dir.js';
import { SECRET_FILE } from '../storage/secret.js';

type Started = Pick<Heliograph, 'url' | 'secretOrigin' | 'pixelStreaming' | 'cluster' | 'apiKeys'>;

/** `http://0.0.0.0:8080` → `http://localhost:8080`: a link a browser on this machine can open. */
export function browsable(url: string): string {
  return url.replace(/^(https?:\/\/)(0\.0\.0\.0|\[::\])(?=:)/, '$1localhost');
}

function accountsLine(config: Config): string {
  if (!config.auth.accounts) {
    return 'Built-in accounts are off (auth.accounts): only tokens signed for your backend get in';
  }
  return config.auth.signup
    ? 'Sign-up is open: anyone who can reach this server may create an account (POST /v1/auth/signup); close it with --auth.signup false'
    : 'Sign-up is closed (auth.signup): add accounts with `npx heliograph users add <username>`';
}

function controlApiLine(config: Config, app: Started, base: string): string {
  const { configured, stored } = app.apiKeys.count();
  if (configured + stored === 0) {
    const fix = isInMemory(config.dataDir) ? 'configure one in controlApi.keys' : 'create one with `npx heliograph keys create --scope read-write`';
    return `Control API at ${base}/v1: no API key yet, so every call is refused; ${fix}`;
  }
  const plural = (n: number) => `${n} key${n === 1 ? '' : 's'}`;
  const sources = [
    ...(configured > 0 ? [`${plural(configured)} configured (controlApi.keys)`] : []),
    ...(stored > 0
      ? [isInMemory(config.dataDir) ? `${plural(stored)} in the in-memory database` : `${plural(stored)} in the database (npx heliograph keys list)`]
      : []),
  ];
  return `Control API at ${base}/v1 (reference at ${base}/v1/docs): ${sources.join(', ')}`;
}

function dataLine(config: Config, origin: Started['secretOrigin']): string {
  if (isInMemory(config.dataDir)) {
    const secret =
      origin === 'configured'
        ? 'tokens are signed with auth.jwtSecret'
        : 'the signing secret was generated in memory and is not persisted: tokens die with the process';
    return `Data directory: none (:memory:): accounts and webhook events are lost at exit, and ${secret}`;
  }
  const secretFile = join(config.dataDir, SECRET_FILE);
  const secret = {
    configured: 'tokens are signed with auth.jwtSecret',
    generated: `generated a new signing secret in ${secretFile} (keep it private: it signs every token)`,
    stored: `signing secret from ${secretFile}`,
    memory: 'the signing secret is in memory only',
  }[origin];
  return `Data directory: ${config.dataDir}; ${secret}`;
}

function pixelStreamingLine(app: Started, wsBase: string): string | undefined {
  const ports = app.pixelStreaming?.ports;
  if (!ports) {
    return undefined;
  }
  const host = wsBase.replace(/:\d+$/, '');
  const sfu = ports.sfu === undefined ? 'no SFU port' : `SFUs on ${host}:${ports.sfu}`;
  return `Pixel Streaming: players on ${wsBase} (any path but /ws), streamers on ${host}:${ports.streamer}, ${sfu}`;
}

function playerPageLine(config: Config, app: Started, base: string): string | undefined {
  const page = config.pixelStreaming.playerPage;
  if (!app.pixelStreaming || !page.enabled) {
    return undefined;
  }
  const root = config.demo.enabled || page.path === '/' ? '' : ` (also ${base}/)`;
  return `Pixel Streaming player page: ${base}${page.path}${root}, Epic's frontend UI of UE ${page.ueLine} (?StreamerId=<id> picks a streamer)`;
}

/**
 * What a newcomer needs to know once the node listens, one log line each: where to connect,
 * what is open to anyone, where data and the signing secret are kept, and what else runs.
 */
export function startupSummary(config: Config, app: Started): string[] {
  const base = browsable(app.url);
  const wsBase = base.replace(/^http/, 'ws');
  const cluster = app.cluster && config.redis.url;
  return [
    `WebSocket endpoint: ${wsBase}/ws`,
    ...(config.demo.enabled ? [`Demo app: ${base}/ (open it in two browser windows and sign up as two users to try a call)`] : []),
    accountsLine(config),
    controlApiLine(config, app, base),
    dataLine(config, app.secretOrigin),
    ...[pixelStreamingLine(app, wsBase), playerPageLine(config, app, base)].filter((line): line is string => line !== undefined),
    ...(cluster ? [`Cluster: node ${app.cluster.nodeId} joined over Redis at ${redactUrlCredentials(cluster)}`] : []),
  ];
}
