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
// The schema library first, on its own: its ~700 modules would otherwise be opened at the same
// time as the rest of the server's, which takes about 220 open files at once; this way about 150,
// so that a node starts under `ulimit -n 256` (macOS's default) with room to spare.
try {
  await import('typebox');
  await import(main.href);
} catch (err) {
  if (err && typeof err === 'object' && 'code' in err && err.code === 'EMFILE') {
    process.stderr.write(
      'heliograph: the open-file limit (ulimit -n) is too low to load the server; raise it (at least 1024: ulimit -n, systemd LimitNOFILE=, docker --ulimit nofile=)\n',
    );
    process.exit(1);
  }
  throw err;
}
