/** Percentiles and a latency distribution summary over raw samples (milliseconds). */
export interface Distribution {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** Points of the cumulative distribution, for the chart: [latency ms, fraction ≤ it]. */
  cdf: Array<[number, number]>;
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) {
    return Number.NaN;
  }
  // Nearest rank; the epsilon keeps 99.9% of 1000 at rank 999 despite floating point.
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length - 1e-9) - 1));
  return sorted[index]!;
}

export function distribution(samples: number[]): Distribution {
  const sorted = Float64Array.from(samples).sort();
  const cdf: Array<[number, number]> = [];
  const points = 200;
  for (let i = 1; i <= points; i++) {
    // Denser towards the tail, where the interesting differences are.
    const q = 1 - 10 ** (-4 * (i / points));
    cdf.push([round(percentile(sorted, q * 100)), q]);
  }
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    p999: round(percentile(sorted, 99.9)),
    max: round(sorted[sorted.length - 1] ?? Number.NaN),
    cdf,
  };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
