/**
 * The few host globals the primitives use, typed here so that this package compiles without the
 * DOM or Node typings and runs in both. Read at call time, so that a test's fake timers apply.
 */
interface Host {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  console: { error(...args: unknown[]): void };
}

export const host = globalThis as unknown as Host;
