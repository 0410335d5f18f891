import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** Real-browser tests: run by scripts/test-browser.sh inside a private network namespace. */
export default defineConfig({
  resolve: {
    alias: {
      '@heliograph/common': fileURLToPath(new URL('./packages/common/src/index.ts', import.meta.url)),
      '@heliograph/protocol': fileURLToPath(new URL('./packages/protocol/src/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['packages/*/test/**/*.browser.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // One Chromium at a time: the machine has two cores.
    fileParallelism: false,
  },
});
