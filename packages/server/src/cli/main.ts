#!/usr/bin/env node
// The `heliograph` bin: the only code that touches process.argv, env, exit and signals.
import { readFileSync } from 'node:fs';
import { runCli } from './run-cli.js';

/** The server package's version; `../../package.json` from `dist/cli/`, also when installed. */
function readVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

const shutdown = new AbortController();
let signalled = false;
function onSignal(): void {
  if (signalled) {
    // The second Ctrl-C: the graceful close is stuck or too slow for the operator.
    process.exit(1);
  }
  signalled = true;
  shutdown.abort();
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const code = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  version: readVersion(),
  signal: shutdown.signal,
  io: {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    // Undefined, not false, when stdin is not a terminal (whatever @types/node says).
    isTTY: (process.stdin.isTTY as boolean | undefined) === true,
    colors: process.env.NO_COLOR === undefined || process.env.NO_COLOR === '',
  },
});
// Exit once stdout has flushed, so that `$(heliograph token …)` never loses the token.
process.stdout.write('', () => process.exit(code));
