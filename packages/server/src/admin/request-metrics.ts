import { Counter, Histogram, type Registry } from 'prom-client';

/** How many of the latest relay times the console's percentiles are taken over. */
const RELAY_WINDOW = 2048;
/** Upper bounds (seconds) of the relay histogram's buckets. */
const RELAY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1];
const RELAY_NAME = 'heliograph_signal_relay_seconds';
const RELAY_HELP = 'signal.send from the request to its acknowledgement (handed to the recipient)';

/**
 * The relay histogram, counted by the console itself (an array increment per signal) and handed
 * to prom-client only when scraped: prom-client's own `observe()` costs a few hundred ns, more than
 * the rest of the tap together, on the path every signal takes.
 */
class RelayHistogram extends Histogram {
  /** Per bucket (the last is +Inf), not cumulative. */
  readonly counts = new Float64Array(RELAY_BUCKETS.length + 1);
  sum = 0;

  constructor(registry: Registry) {
    super({
      name: RELAY_NAME,
      help: RELAY_HELP,
      buckets: RELAY_BUCKETS,
      registers: [registry],
    });
  }

  record(seconds: number): void {
    let i = 0;
    while (i < RELAY_BUCKETS.length && seconds > RELAY_BUCKETS[i]!) {
      i++;
    }
    this.counts[i]!++;
    this.sum += seconds;
  }

  /** What the registry formats (prom-client calls this, then `get()` does, for a histogram). */
  async getForPromString() {
    let cumulative = 0;
    const name = RELAY_NAME;
    const buckets = [...RELAY_BUCKETS, '+Inf' as const].map((le, i) => {
      cumulative += this.counts[i] ?? 0;
      return { labels: { le }, value: cumulative, metricName: `${name}_bucket` };
    });
    const values = [...buckets, { labels: {}, value: this.sum, metricName: `${name}_sum` }, { labels: {}, value: cumulative, metricName: `${name}_count` }];
    return { name, help: RELAY_HELP, type: 'histogram' as const, values, aggregator: 'sum' as const };
  }
}

/** A counter by one label, counted in a map and handed to prom-client when scraped. */
function deferredCounter(registry: Registry, name: string, help: string, label: string, counts: Map<string, number>): void {
  const flushed = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      for (const [value, total] of counts) {
        const delta = total - (flushed.get(value) ?? 0);
        if (delta > 0) {
          this.inc({ [label]: value }, delta);
          flushed.set(value, total);
        }
      }
    },
  });
}

/**
 * What the console and Prometheus learn from the dispatcher's tap: requests by type, failed
 * requests by error code, and the relay time of `signal.send` (from the request to its ack,
 * which in a cluster includes the hop to the recipient's node). The hot path only adds to maps
 * and arrays; prom-client reads them when scraped.
 */
export class RequestMetrics {
  readonly #relay: RelayHistogram;
  readonly #byType = new Map<string, number>();
  /** Failed requests by error code, since start. */
  readonly errorCounts = new Map<string, number>();
  signals = 0;
  requests = 0;
  readonly #recent = new Float64Array(RELAY_WINDOW);
  #recentCount = 0;

  constructor(registry: Registry) {
    deferredCounter(registry, 'heliograph_requests_total', 'Requests answered, by type', 'type', this.#byType);
    deferredCounter(registry, 'heliograph_request_errors_total', 'Requests answered with an error, by error code', 'code', this.errorCounts);
    this.#relay = new RelayHistogram(registry);
  }

  record(type: string, ms: number, error: string | undefined): void {
    this.requests++;
    this.#byType.set(type, (this.#byType.get(type) ?? 0) + 1);
    if (error !== undefined) {
      this.errorCounts.set(error, (this.errorCounts.get(error) ?? 0) + 1);
    } else if (type === 'signal.send') {
      this.signals++;
      this.#relay.record(ms / 1000);
      this.#recent[this.#recentCount++ % RELAY_WINDOW] = ms;
    }
  }

  /** A frame answered with error `code` at the connection's edge, before any dispatch. */
  refused(code: string): void {
    this.errorCounts.set(code, (this.errorCounts.get(code) ?? 0) + 1);
  }

  /** Percentiles (ms) of the latest relays; undefined before the first. */
  relayPercentiles(): { p50: number; p99: number } | undefined {
    const n = Math.min(this.#recentCount, RELAY_WINDOW);
    if (n === 0) {
      return undefined;
    }
    const sorted = this.#recent.slice(0, n).sort();
    const at = (p: number) => sorted[Math.min(n - 1, Math.ceil(p * n) - 1)] ?? 0;
    return { p50: at(0.5), p99: at(0.99) };
  }
}
