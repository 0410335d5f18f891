export interface BackoffOptions {
  /** Delay before the first retry. */
  initialDelayMs: number;
  /** The most any retry waits. */
  maxDelayMs: number;
  /** Growth per attempt. */
  factor: number;
  /** 0–1: how much of each delay is randomised (0.5 → between 50% and 100% of it). */
  jitter: number;
}

/**
 * The delay before retry number `attempt` (from 0): exponential, capped, with jitter so that
 * many clients dropped at once do not all come back at the same moment.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** attempt);
  return Math.round(base * (1 - options.jitter * random()));
}
