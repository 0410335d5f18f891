/**
 * Moved to @heliograph/common (docs/decisions/0005-shared-primitives.md). A re-export only for the
 * modules still importing this path; import from '@heliograph/common' instead.
 */
export { systemClock, type Clock, type TimerHandle } from '@heliograph/common';
