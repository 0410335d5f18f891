import { systemClock } from '@heliograph/common';
import { TokenSigner } from '../auth/token-signer.js';
import { isInMemory } from '../storage/data-dir.js';
import { loadOrCreateSecret } from '../storage/secret.js';
import { CliError, USAGE_EXIT, optionalString, requireString, type Command, type CommandContext } from './command.js';

const UNIT_SECONDS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

/** `3600`, `90s`, `30m`, `1h`, `7d` → seconds. Throws a usage error otherwise. */
export function parseTtl(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * (UNIT_SECONDS[match[2] ?? ''] ?? 1) : 0;
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new CliError(`--ttl must be a positive duration like 3600, 30m, 1h or 7d, not ${JSON.stringify(text)}`, USAGE_EXIT);
  }
  return seconds;
}

/**
 * `heliograph token --user U --room R`: mints a join token with this node's secret and prints
 * it, and nothing else, to stdout, so that `TOKEN=$(heliograph token …)` works.
 */
export async function token({ args, config, io }: CommandContext): Promise<number> {
  const userId = requireString(args, 'user');
  const room = requireString(args, 'room');
  const ttl = optionalString(args, 'ttl');
  const ttlSeconds = ttl === undefined ? config.auth.tokenTtlSeconds : parseTtl(ttl);
  const { maxTokenTtlSeconds } = config.auth;
  if (ttlSeconds > maxTokenTtlSeconds) {
    throw new CliError(`--ttl ${ttl} is longer than auth.maxTokenTtlSeconds (${maxTokenTtlSeconds} s); Heliograph would refuse the token`, USAGE_EXIT);
  }
  const name = optionalString(args, 'name');
  if (config.auth.jwtSecret === undefined && isInMemory(config.dataDir)) {
    // A secret made up here would be this process's alone: no server would accept the token.
    throw new CliError(
      'dataDir: :memory: keeps no signing secret, so no server would accept this token; give the server’s --data-dir or --auth.jwt-secret',
      USAGE_EXIT,
    );
  }
  const { issuer, audience } = config.auth;
  const signer = new TokenSigner({
    secret: config.auth.jwtSecret ?? loadOrCreateSecret(config.dataDir),
    clock: systemClock,
    maxTtlSeconds: maxTokenTtlSeconds,
    ...(issuer === undefined ? {} : { issuer }),
    ...(audience === undefined ? {} : { audience }),
  });
  const minted = await signer.mint({
    userId,
    ...(name === undefined ? {} : { name }),
    grants: [{ room, join: true, create: args.options['no-create'] !== true }],
    ttlSeconds,
  });
  io.stdout.write(`${minted.token}\n`);
  return 0;
}

export const tokenCommand: Command = {
  name: 'token',
  summary: 'Prints a join token for one user and room, signed with this node’s secret.',
  details:
    'The secret is auth.jwtSecret, or the one generated under dataDir. Only the token is printed:\n' +
    '  TOKEN=$(heliograph token --user alice --room demo --ttl 30m)',
  options: {
    user: { type: 'string', value: 'id', required: true, description: 'User id (the `sub` claim)' },
    room: { type: 'string', value: 'room', required: true, description: 'Room id, `*` or a prefix like `team-*`' },
    ttl: { type: 'string', value: 'duration', description: 'Lifetime: 3600, 30m, 1h, 7d (default auth.tokenTtlSeconds; at most auth.maxTokenTtlSeconds)' },
    name: { type: 'string', value: 'display name', description: 'Display name (the `name` claim)' },
    'no-create': { type: 'boolean', description: 'Allow joining the room but not creating it' },
  },
  run: token,
};
