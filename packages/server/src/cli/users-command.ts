import { AccountStore } from '../auth/accounts.js';
import type { Config } from '../config/schema.js';
import { CliError, JSON_LIST_OPTION, optionalString, printResult, type Command, type CommandContext } from './command.js';
import { requireStoredData, withDatabase } from './data-dir.js';
import { promptHidden, readLine } from './prompt.js';

/** Opens the accounts of the database under dataDir for the length of one command. */
function withAccounts<T>(config: Config, use: (accounts: AccountStore) => Promise<T> | T): Promise<T> {
  return withDatabase(config, 'accounts', (db) => use(new AccountStore(db)));
}

/** One line from stdin when piped (or asked to), else typed twice on the terminal, unechoed. */
async function readPassword({ args, io, signal }: CommandContext): Promise<string> {
  if (args.options['password-stdin'] === true || !io.isTTY) {
    return readLine(io.stdin, signal);
  }
  const first = await promptHidden(io, 'Password: ', signal);
  const second = await promptHidden(io, 'Repeat the password: ', signal);
  if (first !== second) {
    throw new CliError('the passwords do not match');
  }
  return first;
}

/** `heliograph users add <username>`: creates a built-in account. */
export async function usersAdd(ctx: CommandContext): Promise<number> {
  const [username = ''] = ctx.args.positionals;
  requireStoredData(ctx.config, 'accounts');
  const password = await readPassword(ctx);
  const name = optionalString(ctx.args, 'name');
  const account = await withAccounts(ctx.config, (accounts) => accounts.add(username, password, name));
  ctx.io.stdout.write(`Added user ${account.username}\n`);
  return 0;
}

/** `heliograph users remove <username>`: deletes an account; exit 1 when there is none. */
export async function usersRemove(ctx: CommandContext): Promise<number> {
  const [username = ''] = ctx.args.positionals;
  const removed = await withAccounts(ctx.config, (accounts) => accounts.remove(username));
  if (!removed) {
    throw new CliError(`no user named ${JSON.stringify(username)}`);
  }
  ctx.io.stdout.write(`Removed user ${username}\n`);
  return 0;
}

/** `heliograph users list [--json]`: the accounts as a table, or as a JSON array. */
export async function usersList(ctx: CommandContext): Promise<number> {
  const accounts = await withAccounts(ctx.config, (store) => store.list());
  const rows = accounts.map((a) => [a.username, a.displayName ?? '-', new Date(a.createdAt).toISOString()]);
  printResult(ctx, accounts, [['USERNAME', 'NAME', 'CREATED'], ...rows], 'No users yet; add one with `heliograph users add <username>`.');
  return 0;
}

export const usersAddCommand: Command = {
  name: 'users add',
  positionals: ['<username>'],
  summary: 'Adds a built-in account, for POST /v1/auth/login.',
  details:
    'On a terminal the password is asked for twice, without echo. Otherwise, or with\n' +
    '--password-stdin, it is the first line of stdin: `printf %s "$PW" | heliograph users add alice`.',
  options: {
    name: { type: 'string', value: 'display name', description: 'Display name put in the tokens of this user' },
    'password-stdin': { type: 'boolean', description: 'Read the password from the first line of stdin' },
  },
  run: usersAdd,
};

export const usersRemoveCommand: Command = {
  name: 'users remove',
  positionals: ['<username>'],
  summary: 'Deletes a built-in account. Tokens already issued stay valid until they expire.',
  options: {},
  run: usersRemove,
};

export const usersListCommand: Command = {
  name: 'users list',
  summary: 'Lists the built-in accounts.',
  options: JSON_LIST_OPTION,
  run: usersList,
};

/** The `users` subcommands, in help order. */
export const USERS_COMMANDS: readonly Command[] = [usersAddCommand, usersRemoveCommand, usersListCommand];
