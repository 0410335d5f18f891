import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { ErrorReporter } from './error-reporter.js';
import { createLogger } from './logger.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('info', { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { lines, logger };
}

describe('ErrorReporter', () => {
  it('logs a kind of error once a window, with how many it left out, and counts every one', async () => {
    const clock = new FakeClock();
    const metrics = new Registry();
    const { lines, logger } = capture();
    const reporter = new ErrorReporter({ logger, clock, metrics, windowMs: 1000 });
    for (let i = 0; i < 500; i++) {
      reporter.report('request', new RangeError('Maximum call stack size exceeded'), { type: 'room.join' });
    }
    reporter.report('request', new TypeError('other'), { type: 'ping' });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 50, where: 'request', type: 'room.join', msg: 'unexpected error in request' });
    expect((lines[0]?.err as { stack?: string }).stack).toContain('RangeError');
    clock.advance(1000);
    reporter.report('request', new RangeError('Maximum call stack size exceeded'), { type: 'room.join' });
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ suppressed: 499 });
    expect(await metrics.getSingleMetricAsString('heliograph_internal_errors_total')).toContain('heliograph_internal_errors_total{where="request"} 502');
  });

  it('logs at most 50 lines a window however many kinds of error come, and remembers a bounded number of kinds', () => {
    const clock = new FakeClock();
    const { lines, logger } = capture();
    const reporter = new ErrorReporter({ logger, clock, windowMs: 1000 });
    for (let i = 0; i < 10_000; i++) {
      reporter.report('x', new Error(`message ${i}`));
    }
    expect(lines).toHaveLength(50);
    clock.advance(1000);
    reporter.report('x', new Error('message 9999'));
    expect(lines).toHaveLength(51);
    expect(lines[50]).toMatchObject({ suppressed: 9950 });
    // 'message 0' was logged a window ago, so it is logged again.
    reporter.report('x', new Error('message 0'));
    expect(lines).toHaveLength(52);
  });
});
