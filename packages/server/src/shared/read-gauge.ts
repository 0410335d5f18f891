import { Gauge, type Registry } from 'prom-client';

/** A gauge whose value is read when Prometheus scrapes, so that the path that changes it pays nothing. */
export function readGauge(registry: Registry, name: string, help: string, read: () => number): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}
