import { host } from './host.js';

/** An opaque timer handle; only the clock that made it can clear it. */
export type TimerHandle = { readonly __timer: unique symbol } | object;

/**
 * Time, injected. Domain code never calls `Date.now()` or `setTimeout` itself, so that tests of
 * timeouts advance a `FakeClock` instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle | undefined): void;
}

export interface HostClockOptions {
  /**
   * Whether a pending timer keeps a Node process alive (Node's default). A server owns its
   * resources and closes them, so its timers must not; an SDK script waiting to reconnect must.
   * Browsers ignore it.
   */
  keepAlive: boolean;
}

/** The host's real time and timers (browser or Node). */
export function hostClock(options: HostClockOptions): Clock {
  // In a browser a handle is a number; it is only ever handed back to the same host.
  const start = (t: unknown): TimerHandle => {
    if (!options.keepAlive) {
      (t as { unref?: () => void }).unref?.();
    }
    return t as TimerHandle;
  };
  return {
    now: () => Date.now(),
    setTimeout: (fn, ms) => start(host.setTimeout(fn, ms)),
    clearTimeout: (handle) => host.clearTimeout(handle),
    setInterval: (fn, ms) => start(host.setInterval(fn, ms)),
    clearInterval: (handle) => host.clearInterval(handle),
  };
}

/** Real time whose timers never keep a Node process alive (the server's clock). */
export const systemClock: Clock = hostClock({ keepAlive: false });
