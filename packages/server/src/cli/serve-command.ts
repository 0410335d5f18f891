import { createHeliograph, type Heliograph } from '../app.js';
import { describeConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger, type LogFormat, type Logger } from '../shared/logger.js';
import { watchProcessErrors } from '../shared/process-errors.js';
import { type CliIo, type Command, type CommandContext } from './command.js';
import { checkTlsFiles } from './startup-errors.js';
import { startupSummary } from './startup-summary.js';

function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
    } else {
      signal?.addEventListener('abort', () => resolve(), { once: true });
    }
  });
}

/** Logs to stdout: pino-pretty's text on a terminal (`log.format` auto), JSON lines otherwise. */
function serveLogger(config: Config, io: CliIo, autoFormat?: LogFormat): Logger {
  const tty = (io.stdout as { isTTY?: boolean }).isTTY === true;
  const format = config.log.format === 'auto' ? (autoFormat ?? (tty ? 'pretty' : 'json')) : config.log.format;
  return createLogger(config.log.level, io.stdout, { format, colorize: tty && io.colors === true });
}

/** How a command runs a node: `serve` as it is, `dev` with its own log format and a welcome. */
export interface RunNodeOptions {
  /** The format `log.format: auto` stands for; by default pretty on a terminal, JSON otherwise. */
  autoFormat?: LogFormat;
  /** Called once the node listens, before the summary is logged; its text is printed after it. */
  afterListen?: (app: Heliograph) => Promise<string>;
}

/**
 * Runs the node until `signal` aborts (SIGINT/SIGTERM in `main.ts`), then closes it gracefully.
 * Once listening, it logs what runs where (startup-summary.ts).
 */
export async function runNode({ config, io, signal }: CommandContext, options: RunNodeOptions = {}): Promise<number> {
  checkTlsFiles(config);
  const logger = serveLogger(config, io, options.autoFormat);
  const app = await createHeliograph(config, { logger });
  const unwatch = watchProcessErrors(app.errors);
  try {
    try {
      await app.listen();
      const welcome = (await options.afterListen?.(app)) ?? '';
      for (const line of startupSummary(config, app)) {
        logger.info(line);
      }
      io.stdout.write(welcome);
    } catch (err) {
      await app.close();
      throw err;
    }
    await untilAborted(signal);
    logger.info('shutting down');
    // A second signal makes main.ts exit at once; until then clients get time to move elsewhere.
    await app.drain('node shutting down');
    logger.info('stopped');
    return 0;
  } finally {
    unwatch();
  }
}

/** `heliograph serve`: runs the node as configured. */
export function serve(ctx: CommandContext): Promise<number> {
  return runNode(ctx);
}

/** Every setting with its flag, variable and default, for `heliograph serve --help`. */
function settingsHelp(): string {
  const settings = describeConfig().map((row) =>
    [
      `  ${row.flag} <${row.type}>`,
      `      ${row.env}${row.default === undefined ? '' : `  (default ${row.default})`}`,
      ...(row.secret ? [`      or from a file: ${row.flag}-file <path>, ${row.env}_FILE`] : []),
      `      ${row.description}`,
    ].join('\n'),
  );
  return [
    'Settings come from, later ones winning: defaults, the JSON file (--config <file>,',
    'HELIOGRAPH_CONFIG, or ./heliograph.config.json), HELIOGRAPH_* variables, then flags.',
    '',
    'Settings:',
    ...settings,
  ].join('\n');
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Runs the signalling server (the default command). Ctrl-C stops it gracefully.',
  details: settingsHelp(),
  options: {},
  run: serve,
};
