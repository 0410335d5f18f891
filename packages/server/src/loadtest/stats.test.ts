import { describe, expect, it } from 'vitest';
import { distribution, percentile } from './stats.js';

describe('load statistics (bench and loadtest)', () => {
  it('nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(500);
    expect(percentile(sorted, 99)).toBe(990);
    expect(percentile(sorted, 99.9)).toBe(999);
    expect(percentile(sorted, 100)).toBe(1000);
    expect(percentile([], 50)).toBeNaN();
  });

  it('summarises a distribution with a tail-weighted CDF', () => {
    const d = distribution([5, 1, 3, 2, 4]);
    expect(d).toMatchObject({ count: 5, p50: 3, p99: 5, max: 5 });
    expect(d.cdf.at(-1)?.[0]).toBe(5);
    expect(d.cdf.every(([, q], i, all) => i === 0 || q >= all[i - 1]![1])).toBe(true);
  });
});
