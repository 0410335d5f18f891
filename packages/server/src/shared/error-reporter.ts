import { Counter, type Registry } from 'prom-client';
import type { Clock } from '@heliograph/common';
import type { Logger } from './logger.js';

export interface ErrorReporterOptions {
  logger: Logger;
  clock: Clock;
  /** Where `heliograph_internal_errors_total` is registered; none in unit tests. */
  metrics?: Registry | undefined;
  /** One log line per kind of error in this window; the rest are counted and summed up. */
  windowMs?: number;
}

/** Kinds of error remembered at once; an attacker minting new messages cannot grow it past this. */
const MAX_KINDS = 100;
/** Log lines per window, all kinds together. */
const MAX_LINES = 50;

/**
 * Reports errors nobody expected (a handler's bug, a value that would not serialise), which the
 * caller has already answered with INTERNAL. Each one is counted; a kind of error (where + name +
 * message) is logged with its stack once a window, and the next line says how many were left out,
 * so that a client repeating a bad frame cannot flood the logs. Callers pass where and the message
 * type, never the payload.
 */
export class ErrorReporter {
  readonly #opts: ErrorReporterOptions;
  readonly #windowMs: number;
  readonly #kinds = new Map<string, { loggedAt: number; suppressed: number }>();
  readonly #count: Counter<'where'> | undefined;
  #windowStart = Number.NEGATIVE_INFINITY;
  #linesInWindow = 0;
  /** Errors of new kinds left out because the window's lines were used up. */
  #overflow = 0;

  constructor(options: ErrorReporterOptions) {
    this.#opts = options;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#count = options.metrics
      ? new Counter({
          name: 'heliograph_internal_errors_total',
          help: 'Unexpected errors answered INTERNAL or dropped, by where they happened',
          labelNames: ['where'],
          registers: [options.metrics],
        })
      : undefined;
  }

  report(where: string, err: unknown, context: Record<string, string | number | undefined> = {}): void {
    this.#count?.inc({ where });
    const now = this.#opts.clock.now();
    const key = `${where}\u0000${errorName(err)}\u0000${errorMessage(err).slice(0, 200)}`;
    const kind = this.#kinds.get(key);
    if (kind && now - kind.loggedAt < this.#windowMs) {
      kind.suppressed++;
      return;
    }
    if (now - this.#windowStart >= this.#windowMs) {
      this.#windowStart = now;
      this.#linesInWindow = 0;
    }
    if (this.#linesInWindow >= MAX_LINES) {
      this.#overflow++;
      return;
    }
    this.#linesInWindow++;
    const suppressed = (kind?.suppressed ?? 0) + this.#overflow;
    this.#overflow = 0;
    this.#kinds.delete(key);
    if (this.#kinds.size >= MAX_KINDS) {
      const oldest = this.#kinds.keys().next().value;
      if (oldest !== undefined) {
        this.#kinds.delete(oldest);
      }
    }
    this.#kinds.set(key, { loggedAt: now, suppressed: 0 });
    this.#opts.logger.error({ err, where, ...context, ...(suppressed > 0 ? { suppressed } : {}) }, `unexpected error in ${where}`);
  }
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
