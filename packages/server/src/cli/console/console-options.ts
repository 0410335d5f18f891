import { readFileSync } from 'node:fs';
import type { Config } from '../../config/schema.js';
import { CliError, USAGE_EXIT, optionalString, type CommandArgs, type CommandContext, type OptionSpec } from '../command.js';
import { ControlClient } from './control-client.js';

/** The options every command that talks to a running server takes. */
export const SERVER_OPTIONS: Record<string, OptionSpec> = {
  url: { type: 'string', value: 'url', description: "The server's base URL (default: http://127.0.0.1:<port> of the configuration)" },
  'api-key': { type: 'string', value: 'key', description: 'A control API key (`heliograph keys create`); read for listing, read-write for changes' },
  'api-key-file': { type: 'string', value: 'file', description: 'Read the key from this file instead (keeps it out of the process list)' },
};

export const JSON_OPTION: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'Print JSON instead of a table' },
};

function apiKey(args: CommandArgs): string {
  const file = optionalString(args, 'api-key-file');
  const given = optionalString(args, 'api-key');
  if (file !== undefined && given !== undefined) {
    throw new CliError('give --api-key or --api-key-file, not both', USAGE_EXIT);
  }
  let key = given;
  if (file !== undefined) {
    try {
      key = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new CliError(`cannot read --api-key-file ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (!key) {
    throw new CliError('--api-key (or --api-key-file) is required: a control API key from `heliograph keys create`', USAGE_EXIT);
  }
  return key;
}

function defaultUrl(config: Config): string {
  return `${config.tls.cert ? 'https' : 'http'}://127.0.0.1:${config.port}`;
}

/** The control API client of a command, from --url and --api-key. */
export function controlClient({ args, config }: Pick<CommandContext, 'args' | 'config'>): ControlClient {
  const url = optionalString(args, 'url') ?? defaultUrl(config);
  if (!/^https?:\/\/[^/]+/.test(url)) {
    throw new CliError(`--url must be an http(s) URL, not ${JSON.stringify(url)}`, USAGE_EXIT);
  }
  return new ControlClient(url, apiKey(args));
}

/** A time as the tables show it: ISO 8601 to the second, in UTC. */
export function shortTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
