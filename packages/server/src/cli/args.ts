import { configFlagLength } from '../config/load.js';
import type { CommandArgs, OptionSpec } from './command.js';

export type ParsedArgs = { ok: true; args: CommandArgs; configArgv: string[]; help: boolean } | { ok: false; error: string };

/**
 * Splits a command's argv into its own options and positionals, and everything else that looks
 * like a flag, which is handed to `loadConfig` (that reports the unknown ones). `node:util`'s
 * parseArgs cannot do this: it needs to know every option up front.
 */
export function parseCommandArgs(argv: readonly string[], specs: Record<string, OptionSpec>): ParsedArgs {
  const args: CommandArgs = { positionals: [], options: {} };
  const configArgv: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    if (token === '--') {
      args.positionals.push(...argv.slice(i + 1));
      break;
    } else if (token === '--help' || token === '-h') {
      help = true;
    } else if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      const name = token.slice(2, eq < 0 ? undefined : eq);
      const spec = specs[name];
      if (!spec) {
        const length = configFlagLength(argv, i);
        configArgv.push(...argv.slice(i, i + length));
        i += length - 1;
        continue;
      }
      const taken = takeValue(name, spec, eq < 0 ? undefined : token.slice(eq + 1), argv[i + 1]);
      if (typeof taken === 'string') {
        return { ok: false, error: taken };
      }
      args.options[name] = taken.value;
      i += taken.consumed;
    } else if (token.startsWith('-') && token.length > 1) {
      const entry = Object.entries(specs).find(([, spec]) => spec.short === token.slice(1));
      if (!entry) {
        return { ok: false, error: `unknown option ${token}` };
      }
      const taken = takeValue(entry[0], entry[1], undefined, argv[i + 1]);
      if (typeof taken === 'string') {
        return { ok: false, error: taken };
      }
      args.options[entry[0]] = taken.value;
      i += taken.consumed;
    } else {
      args.positionals.push(token);
    }
  }
  return { ok: true, args, configArgv, help };
}

/** The option's value and how many extra tokens it used, or an error message. */
function takeValue(
  name: string,
  spec: OptionSpec,
  inline: string | undefined,
  next: string | undefined,
): { value: string | boolean; consumed: number } | string {
  if (spec.type === 'boolean') {
    return inline === undefined ? { value: true, consumed: 0 } : `--${name} takes no value`;
  }
  if (inline !== undefined) {
    return { value: inline, consumed: 0 };
  }
  return next === undefined ? `--${name} needs a value` : { value: next, consumed: 1 };
}
