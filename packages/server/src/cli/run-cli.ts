import { AppError } from '../shared/app-error.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { parseCommandArgs } from './args.js';
import { CliError, USAGE_EXIT, commandHelp, table, type CliIo, type Command, type CommandArgs } from './command.js';
import { devCommand } from './dev-command.js';
import { KEYS_COMMANDS } from './keys-command.js';
import { serveCommand } from './serve-command.js';
import { explainStartupError } from './startup-errors.js';
import { tokenCommand } from './token-command.js';
import { USERS_COMMANDS } from './users-command.js';
import { inspectCommand } from './console/inspect-command.js';
import { loadtestCommand } from './console/loadtest-command.js';
import { usersRoleCommand } from './console/users-role-command.js';
import { ROOMS_COMMANDS } from './console/rooms-commands.js';
import { WEBHOOKS_COMMANDS } from './console/webhooks-commands.js';

export interface CliInput {
  /** The arguments after `heliograph`. */
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  io: CliIo;
  version: string;
  /** Aborted on SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

const COMMANDS: readonly Command[] = [
  serveCommand,
  devCommand,
  ...USERS_COMMANDS,
  usersRoleCommand,
  tokenCommand,
  ...KEYS_COMMANDS,
  // Operator commands: they talk to a running server over the control API (--url, --api-key).
  ...ROOMS_COMMANDS,
  inspectCommand,
  ...WEBHOOKS_COMMANDS,
  loadtestCommand,
];
const HELP_FLAGS = new Set(['--help', '-h']);

function usageLine(command: Command): string {
  return ['heliograph', command.name, ...(command.positionals ?? [])].join(' ');
}

function mainHelp(): string {
  return [
    'Usage: heliograph [command] [options]',
    '',
    'Heliograph, a WebRTC signalling server.',
    '',
    'Commands:',
    table(COMMANDS.map((c) => [usageLine(c), c.summary.replace(/\.$/, '')])),
    '',
    'Options:',
    table([
      ['-h, --help', 'Show help; `heliograph <command> --help` for a command'],
      ['--version', 'Print the version'],
    ]),
    '',
    'Every command takes the configuration flags and HELIOGRAPH_* variables;',
    '`heliograph serve --help` lists them all. See docs/configuration.md.',
    '',
  ].join('\n');
}

function groupHelp(group: string, commands: readonly Command[]): string {
  return [
    `Usage: heliograph ${group} <command> [options]`,
    '',
    'Commands:',
    table(commands.map((c) => [usageLine(c), c.summary.replace(/\.$/, '')])),
    '',
    `Run 'heliograph ${group} <command> --help' for a command's options.`,
    '',
  ].join('\n');
}

/** What is missing from, or too much in, a command line; undefined when nothing is. */
function misused(command: Command, args: CommandArgs): string | undefined {
  const wanted = command.positionals ?? [];
  const { positionals } = args;
  if (positionals.length < wanted.length) {
    return `missing ${wanted[positionals.length] ?? 'argument'}`;
  }
  if (positionals.length > wanted.length) {
    return `unexpected argument ${JSON.stringify(positionals[wanted.length])}`;
  }
  const absent = Object.entries(command.options).find(([name, spec]) => spec.required && args.options[name] === undefined);
  return absent && `--${absent[0]} is required`;
}

function usageError(io: CliIo, message: string, helpHint: string): number {
  io.stderr.write(`heliograph: ${message}\nRun '${helpHint} --help' for usage.\n`);
  return USAGE_EXIT;
}

function reportFailure(io: CliIo, err: unknown, config: Config): number {
  // A setting that does not work on this machine (port in use, unreadable file…): one line, no stack.
  const startup = explainStartupError(err, config);
  if (startup) {
    io.stderr.write(`heliograph: ${startup.message}\n`);
    return 1;
  }
  if (err instanceof CliError) {
    io.stderr.write(`heliograph: ${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof AppError) {
    io.stderr.write(`heliograph: ${err.message}\n`);
    return 1;
  }
  io.stderr.write(`heliograph: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}

/** Runs one command line: finds the command, parses its arguments, loads the config, runs it. */
export async function runCli(input: CliInput): Promise<number> {
  const { argv, io } = input;
  const [first, second] = argv;
  if (first === '--version') {
    io.stdout.write(`${input.version}\n`);
    return 0;
  }
  if (first === 'help' || (first !== undefined && HELP_FLAGS.has(first))) {
    io.stdout.write(mainHelp());
    return 0;
  }
  // No command word: `heliograph` and `heliograph --port 0` both serve.
  if (first === undefined || first.startsWith('-')) {
    return runCommand(serveCommand, argv, input);
  }
  const exact = COMMANDS.find((c) => c.name === `${first} ${second}`) ?? COMMANDS.find((c) => c.name === first);
  if (exact) {
    return runCommand(exact, argv.slice(exact.name.split(' ').length), input);
  }
  const group = COMMANDS.filter((c) => c.name.startsWith(`${first} `));
  if (group.length === 0) {
    return usageError(io, `unknown command ${JSON.stringify(first)}`, 'heliograph');
  }
  if (second !== undefined && HELP_FLAGS.has(second)) {
    io.stdout.write(groupHelp(first, group));
    return 0;
  }
  if (second === undefined || second.startsWith('-')) {
    io.stderr.write(groupHelp(first, group));
    return USAGE_EXIT;
  }
  return usageError(io, `unknown command ${JSON.stringify(`${first} ${second}`)}`, `heliograph ${first}`);
}

async function runCommand(command: Command, argv: readonly string[], input: CliInput): Promise<number> {
  const { io } = input;
  const hint = `heliograph ${command.name}`;
  const parsed = parseCommandArgs(argv, command.options);
  if (!parsed.ok) {
    return usageError(io, parsed.error, hint);
  }
  if (parsed.help) {
    io.stdout.write(commandHelp(command));
    return 0;
  }
  const misuse = misused(command, parsed.args);
  if (misuse !== undefined) {
    return usageError(io, misuse, hint);
  }
  const loaded = loadConfig({ argv: parsed.configArgv, env: input.env, cwd: input.cwd });
  if ('errors' in loaded) {
    io.stderr.write(`heliograph: invalid configuration:\n${loaded.errors.map((e) => `  ${e}\n`).join('')}`);
    return USAGE_EXIT;
  }
  try {
    return await command.run({ args: parsed.args, config: loaded.config, io, ...(input.signal ? { signal: input.signal } : {}) });
  } catch (err) {
    return reportFailure(io, err, loaded.config);
  }
}
