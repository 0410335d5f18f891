import type { ErrorReporter } from './error-reporter.js';

/** What the log line of an error that escaped everything says, so that tests can look for it. */
export const PROCESS_ERROR_KINDS = ['uncaughtException', 'unhandledRejection'] as const;

/**
 * The last line of defence of a running node: an exception or rejection that escaped every
 * handler is logged (once a window per kind, with its stack) and counted in
 * `heliograph_internal_errors_total{where="uncaughtException"|"unhandledRejection"}` instead of
 * taking down every call on the node. Each one is a bug; the tests fail on them (vitest reports
 * them in-process, and the spawned-node helper fails a test whose node logged one). Returns the
 * function that removes the handlers.
 */
export function watchProcessErrors(errors: ErrorReporter): () => void {
  const onException = (err: unknown) => errors.report('uncaughtException', err);
  const onRejection = (reason: unknown) => errors.report('unhandledRejection', reason);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
