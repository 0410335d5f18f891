#!/usr/bin/env node
// The `heliograph` command. It is this committed file, not dist/cli/main.js, because npm links a
// package's bin when it installs the package, which in a fresh checkout is before the root
// `prepare` script has built dist/, and it silently skips a bin whose file is not there yet.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write(`heliograph: ${fileURLToPath(main)} is not built yet: run \`npm run build\` in the checkout\n`);
  process.exit(1);
}
await import(main.href);
