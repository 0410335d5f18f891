import { describe, expect, it } from 'vitest';
import { hostClock, systemClock } from './clock.js';

describe('hostClock', () => {
  it('keeps a Node process alive only when asked to', () => {
    const background = systemClock.setTimeout(() => undefined, 60_000) as NodeJS.Timeout;
    const kept = hostClock({ keepAlive: true }).setInterval(() => undefined, 60_000) as NodeJS.Timeout;
    expect(background.hasRef()).toBe(false);
    expect(kept.hasRef()).toBe(true);
    systemClock.clearTimeout(background);
    hostClock({ keepAlive: true }).clearInterval(kept);
  });

  it('fires a timer and tells the time', async () => {
    const before = Date.now();
    expect(systemClock.now()).toBeGreaterThanOrEqual(before);
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 1));
  });
});
