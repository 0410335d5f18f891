/**
 * Moved to @heliograph/common (docs/decisions/0005-shared-primitives.md). A re-export only for the
 * tests still importing this path; import from '@heliograph/common' instead.
 */
export { FakeClock } from '@heliograph/common';
