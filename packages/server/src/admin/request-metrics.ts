import { Counter, Histogram, type Registry } from 'prom-client';

/** How many of the latest relay times the console's percentiles are taken over. */
const RELAY_WINDOW = 2048;

/**
 * What the console and Prometheus learn from the dispatcher's tap: requests by type, failed
 * requests by error code, and the relay time of `signal.send` (from the request to its ack,
 * which in a cluster includes the hop to the recipient's node).
 */
export class RequestMetrics {
  readonly #requests: Counter<'type'>;
  readonly #errors: Counter<'code'>;
  readonly #relay: Histogram;
  readonly #byType = new Map<string, Counter.Internal>();
  readonly #byCode = new Map<string, Counter.Internal>();
  /** Totals kept here too, so the console reads them without going through the registry. */
  readonly errorCounts = new Map<string, number>();
  signals = 0;
  requests = 0;
  readonly #recent = new Float64Array(RELAY_WINDOW);
  #recentCount = 0;

  constructor(registry: Registry) {
    this.#requests = new Counter({ name: 'heliograph_requests_total', help: 'Requests answered, by type', labelNames: ['type'], registers: [registry] });
    this.#errors = new Counter({
      name: 'heliograph_request_errors_total',
      help: 'Requests answered with an error, by error code',
      labelNames: ['code'],
      registers: [registry],
    });
    this.#relay = new Histogram({
      name: 'heliograph_signal_relay_seconds',
      help: 'signal.send from the request to its acknowledgement (handed to the recipient)',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    });
  }

  record(type: string, ms: number, error: string | undefined): void {
    this.requests++;
    cached(this.#byType, type, () => this.#requests.labels(type)).inc();
    if (error !== undefined) {
      cached(this.#byCode, error, () => this.#errors.labels(error)).inc();
      this.errorCounts.set(error, (this.errorCounts.get(error) ?? 0) + 1);
    } else if (type === 'signal.send') {
      this.signals++;
      this.#relay.observe(ms / 1000);
      this.#recent[this.#recentCount++ % RELAY_WINDOW] = ms;
    }
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

function cached(map: Map<string, Counter.Internal>, key: string, make: () => Counter.Internal): Counter.Internal {
  let child = map.get(key);
  if (!child) {
    child = make();
    map.set(key, child);
  }
  return child;
}
