/** Polls `check` until it returns true, or fails after `timeoutMs`. For real I/O only, never for timers. */
export async function until(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Like `until`, for a check that must itself wait (an HTTP call). For real I/O only. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Resolves once `check` holds, testing it now and again after each event `subscribe` reports: for
 * state of this process that changes with an event it can hear (a room event, a stream's data), so
 * the test waits on the event rather than on a polling pace. `subscribe` returns its unsubscribe.
 * `timeoutMs` only bounds a test that is stuck.
 */
export function untilEvent(subscribe: (listener: () => void) => () => void, check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  if (check()) {
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      unsubscribe();
      if (err) {
        reject(err);
      } else {
        resolve();
      }
    };
    const timer = setTimeout(() => done(new Error(`timed out waiting for ${what}`)), timeoutMs);
    const unsubscribe = subscribe(() => {
      try {
        if (check()) {
          done();
        }
      } catch (err) {
        done(err as Error);
      }
    });
  });
}

/** Resolves once `read()` includes `text`, checked on each chunk `stream` emits (an in-process stream or a child's pipe). */
export function untilPrinted(stream: NodeJS.ReadableStream, read: () => string, text: string, timeoutMs = 5000): Promise<void> {
  const subscribe = (listener: () => void) => {
    stream.on('data', listener);
    return () => void stream.removeListener('data', listener);
  };
  return untilEvent(subscribe, () => read().includes(text), timeoutMs, `"${text}" to be printed`);
}
