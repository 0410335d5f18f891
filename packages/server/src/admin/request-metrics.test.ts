import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RequestMetrics } from './request-metrics.js';

describe('RequestMetrics', () => {
  it('counts on the hot path and hands Prometheus the same totals, scrape after scrape', async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics(registry);
    metrics.record('signal.send', 0.05, undefined);
    metrics.record('signal.send', 3, undefined);
    metrics.record('signal.send', 2000, undefined);
    metrics.record('signal.send', 1, 'PEER_NOT_FOUND');
    metrics.record('ping', 0.01, undefined);
    const first = await registry.metrics();
    expect(first).toContain('heliograph_requests_total{type="signal.send"} 4');
    expect(first).toContain('heliograph_requests_total{type="ping"} 1');
    expect(first).toContain('heliograph_request_errors_total{code="PEER_NOT_FOUND"} 1');
    // 0.05 ms ≤ 0.1 ms; 3 ms ≤ 5 ms; 2 s over every bound. Cumulative, as Prometheus wants them.
    expect(first).toContain('heliograph_signal_relay_seconds_bucket{le="0.0001"} 1');
    expect(first).toContain('heliograph_signal_relay_seconds_bucket{le="0.0025"} 1');
    expect(first).toContain('heliograph_signal_relay_seconds_bucket{le="0.005"} 2');
    expect(first).toContain('heliograph_signal_relay_seconds_bucket{le="1"} 2');
    expect(first).toContain('heliograph_signal_relay_seconds_bucket{le="+Inf"} 3');
    expect(first).toContain('heliograph_signal_relay_seconds_count 3');
    expect(first).toMatch(/heliograph_signal_relay_seconds_sum 2\.00305/);
    expect(first).toContain('# TYPE heliograph_signal_relay_seconds histogram');
    metrics.record('signal.send', 1, 'PEER_NOT_FOUND');
    const second = await registry.metrics();
    expect(second).toContain('heliograph_requests_total{type="signal.send"} 5');
    expect(second).toContain('heliograph_request_errors_total{code="PEER_NOT_FOUND"} 2');
    expect(second).toContain('heliograph_signal_relay_seconds_count 3');
    expect(metrics.relayPercentiles()).toEqual({ p50: 3, p99: 2000 });
    expect({ requests: metrics.requests, signals: metrics.signals }).toEqual({ requests: 6, signals: 3 });
  });
});
