import type { Readable, Writable } from 'node:stream';
import type { Config } from '../config/schema.js';

/** The streams a command may use; `main.ts` passes the process's, tests pass their own. */
export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  /** Whether stdin is a terminal, so that a password can be prompted for without echo. */
  isTTY: boolean;
  /** Whether output to a terminal may be coloured (`NO_COLOR` unset). */
  colors?: boolean;
}

/** A command's own arguments, once configuration flags have been set aside. */
export interface CommandArgs {
  positionals: string[];
  options: Record<string, string | boolean | undefined>;
}

/** Everything a command runs with; tests build one by hand. */
export interface CommandContext {
  args: CommandArgs;
  config: Config;
  io: CliIo;
  /** Aborted on SIGINT/SIGTERM: `serve` shuts down, a pending prompt gives up. */
  signal?: AbortSignal;
}

/** One option of a command, for parsing and for its help. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder for the value in help text: `--ttl <duration>`. */
  value?: string;
  /** The command does not run without it (a usage error, exit 2); its help says so. */
  required?: true;
  description: string;
}

/** A runnable command and what its help says about it. */
export interface Command {
  /** Words after `heliograph`: `users add`. */
  name: string;
  /** Positional arguments, all required: `['<username>']`; none by default. */
  positionals?: string[];
  summary: string;
  /** More text under the usage line of the command's help. */
  details?: string;
  options: Record<string, OptionSpec>;
  run(ctx: CommandContext): Promise<number>;
}

/** A failure the CLI reports as `heliograph: <message>` with its exit code, without a stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Exit code of a misused command line: bad arguments, bad configuration. */
export const USAGE_EXIT = 2;

/** Throws a usage error (exit 2) unless `value` is a non-empty string. */
export function requireString(args: CommandArgs, option: string): string {
  const value = args.options[option];
  if (typeof value !== 'string' || value === '') {
    throw new CliError(`--${option} is required`, USAGE_EXIT);
  }
  return value;
}

/** The option's value when given as a string. */
export function optionalString(args: CommandArgs, option: string): string | undefined {
  const value = args.options[option];
  return typeof value === 'string' ? value : undefined;
}

function optionLabel(name: string, spec: OptionSpec): string {
  const long = `--${name}${spec.type === 'string' ? ` <${spec.value ?? 'value'}>` : ''}`;
  return spec.short ? `-${spec.short}, ${long}` : `    ${long}`;
}

/** Rows of cells as aligned text: every column but the last padded to its widest cell. */
export function table(rows: readonly (readonly string[])[], indent = '  '): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  }
  return rows
    .map((row) => indent + row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  '))
    .map((line) => line.trimEnd())
    .join('\n');
}

/** Writes `value` as indented JSON, or the table `rows` (a header first) when there are any, or `empty`. */
export function printResult(ctx: CommandContext, value: unknown, rows: string[][], empty: string): void {
  const { io, args } = ctx;
  if (args.options.json === true) {
    io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  } else if (rows.length <= 1) {
    io.stderr.write(`${empty}\n`);
  } else {
    io.stdout.write(`${table(rows, '')}\n`);
  }
}

/** `--json` of a command that lists things. */
export const JSON_LIST_OPTION: Record<string, OptionSpec> = { json: { type: 'boolean', description: 'Print a JSON array instead of a table' } };

/** The `--help` text of one command. */
export function commandHelp(command: Command): string {
  const usage = ['heliograph', command.name, ...(command.positionals ?? []), '[options]'].join(' ');
  const options: [string, string][] = Object.entries(command.options).map(([name, spec]) => [
    optionLabel(name, spec),
    spec.required ? `${spec.description}; required` : spec.description,
  ]);
  options.push(['-h, --help', 'Show this help']);
  return [
    `Usage: ${usage}`,
    '',
    command.summary,
    ...(command.details ? ['', command.details] : []),
    '',
    'Options:',
    table(options),
    '',
    'Configuration flags (--config <file>, --data-dir <dir>, …) and HELIOGRAPH_* variables apply too;',
    '`heliograph serve --help` lists them all.',
    '',
  ].join('\n');
}
