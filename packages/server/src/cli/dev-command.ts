import { randomBytes } from 'node:crypto';
import type { Heliograph } from '../app.js';
import type { Config } from '../config/schema.js';
import { IN_MEMORY } from '../storage/data-dir.js';
import { table, type Command, type CommandContext } from './command.js';
import { runNode } from './serve-command.js';
import { browsable } from './startup-summary.js';

/** The user of dev mode's test account and join token. */
export const DEV_USER = 'dev';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** What dev mode changes in the configuration: nothing is kept, whatever dataDir says. */
export function devConfig(config: Config): Config {
  return { ...config, dataDir: IN_MEMORY };
}

/** The credentials dev mode makes in the node's in-memory database once it listens. */
export interface DevCredentials {
  password: string | undefined;
  apiKey: string;
  token: string;
  tokenTtlSeconds: number;
}

/** Makes a test account (when built-in accounts are on), a read-write API key and a join token. */
export async function makeDevCredentials(app: Heliograph, config: Config): Promise<DevCredentials> {
  // Random, not fixed: with --host 0.0.0.0 anyone on the network could use well-known ones.
  const password = config.auth.accounts ? randomBytes(12).toString('base64url') : undefined;
  if (password !== undefined) {
    await app.accounts.add(DEV_USER, password, 'Dev');
  }
  const store = app.apiKeys.stored;
  if (!store) {
    throw new Error('dev mode needs the node’s key store');
  }
  const apiKey = store.create('read-write', DEV_USER).key;
  const tokenTtlSeconds = Math.min(config.auth.tokenTtlSeconds, config.auth.maxTokenTtlSeconds);
  const { token } = await app.signer.mint({
    userId: DEV_USER,
    name: 'Dev',
    grants: [{ room: '*', join: true, create: true }],
    ttlSeconds: tokenTtlSeconds,
  });
  return { password, apiKey, token, tokenTtlSeconds };
}

function duration(seconds: number): string {
  return seconds % 3600 === 0 ? `${seconds / 3600} h` : seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

/** The text dev mode prints under the start-up summary: where to go and what to use there. */
export function devWelcome(app: Pick<Heliograph, 'url'>, config: Config, creds: DevCredentials): string {
  const base = browsable(app.url);
  const ws = `${base.replace(/^http/, 'ws')}/ws`;
  const rows: string[][] = [
    ...(config.demo.enabled ? [['Demo app', `${base}/`]] : []),
    ['WebSocket', ws],
    ...(creds.password === undefined
      ? []
      : [['Test account', `username ${DEV_USER}, password ${creds.password} (log in on the demo, or POST /v1/auth/login)`]]),
    ['Control API key', `${creds.apiKey} (read-write; ${base}/v1, reference at ${base}/v1/docs)`],
    ['Console', `${base}/admin/ (sign in with the control API key)`],
    ['Join token', `${creds.token} (user ${DEV_USER}, any room, ${duration(creds.tokenTtlSeconds)})`],
  ];
  const exposed = LOOPBACK.has(config.host)
    ? []
    : [`Warning: listening on ${config.host}: anyone who can reach this machine can use these credentials and sign up.`];
  return [
    '',
    'Heliograph dev mode: FOR DEVELOPMENT ONLY. Everything is in memory and lost at exit, sign-up is',
    'open, and the credentials below are printed in the clear. Run `npx heliograph serve` for real use.',
    ...exposed,
    '',
    table(rows),
    '',
    'Try it:',
    `  curl -s -H "authorization: Bearer ${creds.apiKey}" ${base}/v1/rooms`,
    ...(creds.password === undefined ? [] : [`  node examples/join-room.mjs ${DEV_USER} '${creds.password}' demo ${base}`]),
    '',
    'Ctrl-C stops it.',
    '',
  ].join('\n');
}

/**
 * `heliograph dev`: a node with throw-away state (`:memory:`), readable logs, a test account, a
 * control API key and a join token printed once it listens. Other settings apply as usual.
 */
export function dev(ctx: CommandContext): Promise<number> {
  const config = devConfig(ctx.config);
  return runNode(
    { ...ctx, config },
    {
      autoFormat: 'pretty',
      afterListen: async (app) => devWelcome(app, config, await makeDevCredentials(app, config)),
    },
  );
}

export const devCommand: Command = {
  name: 'dev',
  summary: 'Runs a throw-away server for development: in memory, with a test account, an API key and a token.',
  details:
    'For development only. Like `serve` with --data-dir :memory: and text logs; once it listens it\n' +
    'prints the demo URL, a test account, a read-write control API key and a join token, all made\n' +
    'afresh at each start and gone at exit. Other settings (--port, --host…) apply as usual.',
  options: {},
  run: dev,
};
