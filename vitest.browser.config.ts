import { defineConfig } from 'vitest/config';
import { sourceAliases } from './vitest.config.js';

/** Real-browser tests: run by scripts/test-browser.sh inside a private network namespace. */
export default defineConfig({
  resolve: { alias: sourceAliases },
  test: {
    include: ['packages/*/test/**/*.browser.test.ts'],
    // Four Chromium pages with fake-camera video on two shared cores: the demo's call scenarios
    // take 20 to 60 s each on the development machine; the budget leaves room for a slow day.
    testTimeout: 150_000,
    hookTimeout: 60_000,
    // One Chromium at a time: the machine has two cores.
    fileParallelism: false,
  },
});
