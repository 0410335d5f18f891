import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** Tests run against the protocol's and common's source, so a change there needs no rebuild first. */
export const sourceAliases = {
  '@heliograph/common': fileURLToPath(new URL('./packages/common/src/index.ts', import.meta.url)),
  '@heliograph/protocol': fileURLToPath(new URL('./packages/protocol/src/index.ts', import.meta.url)),
};

export default defineConfig({
  resolve: { alias: sourceAliases },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'bench/src/**/*.test.ts'],
    // Real-browser tests run separately, in a network namespace (scripts/test-browser.sh).
    exclude: ['**/node_modules/**', '**/dist/**', '**/*.browser.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
