// ESLint (flat config). `npm run lint`; `npm test` runs it before the tests.
// Production TypeScript (packages/*/src) gets typescript-eslint's strict type-checked set and the
// size rules; tests, the bench and the examples a lighter type-aware set that still catches the
// promise bugs. Formatting is Prettier's job (`npm run format:check`), not ESLint's.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

const tests = ['packages/*/src/**/*.test.ts', 'packages/*/src/test-support/**/*.ts', 'packages/*/test/**/*.ts', 'bench/src/**/*.test.ts', 'vitest*.config.ts'];

export default tseslint.config(
  {
    // Generated output, dependencies and plain browser JS served as is (the demo, the console,
    // Epic's player page) and build scripts: only the TypeScript is linted.
    ignores: ['**/node_modules/**', '**/dist/**', 'packages/server/www/**', 'coverage/**', 'test-results/**', 'bench/results/**', '**/*.js', '**/*.mjs'],
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended],
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    // A variable a callback reads before its one assignment (a timer, a stream) cannot be const.
    rules: { 'prefer-const': ['error', { ignoreReadBeforeAssign: true }] },
  },
  {
    files: ['packages/*/src/**/*.ts'],
    ignores: tests,
    extends: [tseslint.configs.strictTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Numbers in messages and ids (`${ms} ms`, `attempt ${n}`) are what templates are for here;
      // the rule still refuses objects, undefined and the like, which print as nonsense.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // `(x) => emitter.emit(x)` as a callback is the house style for one-line handlers; braces
      // would add nothing. Void values used in any other place are still refused.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // Off: `async` without `await` is how this code implements Promise-returning interfaces
      // (RoomCatalog, Fastify's async hooks, prom-client's collect): it turns a synchronous throw
      // into a rejection, which is what those callers handle. The floating/misused promise rules
      // still catch the real promise bugs.
      '@typescript-eslint/require-await': 'off',
      // Off: with noUncheckedIndexedAccess every index read after a bounds check (`list[i]!`,
      // `sorted[index]!`) needs one, and `!` is the honest way to say "checked above"; a `?? 0` there
      // would hide the bug the assertion makes loud.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Off: `void | Promise<void>` is how a step says "done at once on one node, a promise in a
      // cluster" (presence joins, the Pixel Streaming handlers), the same shape as a handler's
      // `Result | Promise<Result>`; callers test for a promise, never use the void.
      '@typescript-eslint/no-invalid-void-type': 'off',
      // A leading underscore names what is dropped on purpose (`const { secret: _secret, ...rest }`).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Blank lines and comments do not count: the rule is about how much code a reader must
      // hold at once, and the house style asks for a comment wherever the why is not obvious.
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }],
    },
  },
  {
    // Tests, the bench and the examples: the promise rules (a floating promise in a test is an
    // assertion that never runs, or a failure reported against the next test) and unused code,
    // without the size rules (a test or a scenario reads best top to bottom).
    files: [...tests, 'bench/src/**/*.ts', 'examples/**/*.ts'],
    extends: [tseslint.configs.base, tseslint.configs.eslintRecommended],
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      'no-unused-vars': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['bench/src/**/*.ts', 'examples/**/*.ts'],
    ignores: tests,
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
  {
    // The packages' own tsconfigs exclude the tests; tsconfig.tests.json type-checks them.
    files: tests,
    languageOptions: { parserOptions: { project: './tsconfig.tests.json', tsconfigRootDir: import.meta.dirname } },
  },
  prettier,
);
