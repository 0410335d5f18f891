import { ApiKeyStore } from '../control-api/api-key-store.js';
import type { ApiKeyScope } from '../control-api/key-digest.js';
import type { Config } from '../config/schema.js';
import { CliError, JSON_LIST_OPTION, USAGE_EXIT, optionalString, printResult, requireString, type Command, type CommandContext } from './command.js';
import { withDatabase } from './data-dir.js';

/** Opens the stored keys of the database under dataDir for the length of one command. */
function withKeys<T>(config: Config, use: (keys: ApiKeyStore) => T): Promise<T> {
  return withDatabase(config, 'API keys', (db) => use(new ApiKeyStore(db)));
}

function parseScope(text: string): ApiKeyScope {
  if (text !== 'read' && text !== 'read-write') {
    throw new CliError(`--scope must be read (GET only) or read-write, not ${JSON.stringify(text)}`, USAGE_EXIT);
  }
  return text;
}

/**
 * `heliograph keys create --scope S [--id ID]`: makes a key in the database and prints it, alone,
 * on stdout (`KEY=$(heliograph keys create …)`), its id and scope on stderr. It is never shown again.
 */
export async function keysCreate({ args, config, io }: CommandContext): Promise<number> {
  const scope = parseScope(requireString(args, 'scope'));
  const id = optionalString(args, 'id');
  if (id !== undefined && config.controlApi.keys.some((k) => k.id === id)) {
    throw new CliError(`controlApi.keys already has a key with id ${JSON.stringify(id)}; choose another --id`);
  }
  const made = await withKeys(config, (keys) => keys.create(scope, id));
  if (args.options.json === true) {
    io.stdout.write(`${JSON.stringify(made)}\n`);
  } else {
    io.stdout.write(`${made.key}\n`);
    io.stderr.write(
      `Created API key ${made.id} (${made.scope}); it is shown this once, only its digest is kept.\n` +
        `Send it as \`Authorization: Bearer <key>\`; revoke it with \`npx heliograph keys revoke ${made.id}\`.\n`,
    );
  }
  return 0;
}

interface ListedKey {
  id: string;
  scope: ApiKeyScope;
  source: 'config' | 'database';
  createdAt?: number;
}

/** `heliograph keys list [--json]`: ids, scopes, where each key is kept and when it was made; never a key. */
export async function keysList(ctx: CommandContext): Promise<number> {
  const { config } = ctx;
  const configured: ListedKey[] = config.controlApi.keys.map((k) => ({ id: k.id, scope: k.scope, source: 'config' }));
  const stored: ListedKey[] = (await withKeys(config, (keys) => keys.list())).map((k) => ({ ...k, source: 'database' }));
  const all = [...configured, ...stored];
  const rows = all.map((k) => [k.id, k.scope, k.source, k.createdAt === undefined ? '-' : new Date(k.createdAt).toISOString()]);
  printResult(ctx, all, [['ID', 'SCOPE', 'SOURCE', 'CREATED'], ...rows], 'No API keys yet; make one with `npx heliograph keys create --scope read-write`.');
  return 0;
}

/** `heliograph keys revoke <id>`: deletes a stored key; a running server refuses it from its next request. */
export async function keysRevoke({ args, config, io }: CommandContext): Promise<number> {
  const [id = ''] = args.positionals;
  const revoked = await withKeys(config, (keys) => keys.revoke(id));
  if (!revoked) {
    const configured = config.controlApi.keys.some((k) => k.id === id);
    throw new CliError(
      configured
        ? `API key ${JSON.stringify(id)} is in controlApi.keys, not in the database: remove it from the configuration and restart`
        : `no API key with id ${JSON.stringify(id)}`,
    );
  }
  io.stdout.write(`Revoked API key ${id}\n`);
  return 0;
}

export const keysCreateCommand: Command = {
  name: 'keys create',
  summary: 'Makes a control API key, kept (as a digest) in the database, and prints it once.',
  details:
    'Only the key goes to stdout, so that `KEY=$(npx heliograph keys create --scope read-write)` works;\n' +
    'its id and scope go to stderr. A running server accepts it from its next request.',
  options: {
    scope: { type: 'string', value: 'read|read-write', required: true, description: '`read` may only GET; `read-write` may do everything' },
    id: { type: 'string', value: 'id', description: 'Its name in logs and in `keys list` (default: key-<random>)' },
    json: { type: 'boolean', description: 'Print {"id","scope","createdAt","key"} as JSON instead' },
  },
  run: keysCreate,
};

export const keysListCommand: Command = {
  name: 'keys list',
  summary: 'Lists the control API keys: id, scope, source (config or database), created. Never a key.',
  options: JSON_LIST_OPTION,
  run: keysList,
};

export const keysRevokeCommand: Command = {
  name: 'keys revoke',
  positionals: ['<id>'],
  summary: 'Deletes a key made with `keys create`; a running server refuses it from its next request.',
  options: {},
  run: keysRevoke,
};

/** The `keys` subcommands, in help order. */
export const KEYS_COMMANDS: readonly Command[] = [keysCreateCommand, keysListCommand, keysRevokeCommand];
