import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { HOOK_SECRET, TestBackend } from '../helpers/business-backend.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { haveTool } from '../helpers/require-tool.js';
import { startServer, TEST_SECRET, type TestServer } from '../helpers/server.js';

/**
 * Monitoring as code stays true: every metric the Grafana dashboard and the alert rules under
 * deploy/ name exists on a node with every feature on (cluster, webhooks, room service, Pixel
 * Streaming), with the labels they use; and docs/operations.md's table lists every metric with
 * its type and labels.
 */
const ROOT = new URL('../../../../', import.meta.url);
const read = (path: string) => readFileSync(fileURLToPath(new URL(path, ROOT)), 'utf8');
/** Labels Prometheus adds itself, and the bucket bound of a histogram. */
const SCRAPE_LABELS = new Set(['instance', 'job', 'le']);
/** prom-client's process and Node.js metrics: one row of the table names them together. */
const DEFAULTS = /^heliograph_(process|nodejs)_/;
const hasRedis = haveTool('redis-server', 'redis-server');

interface Metric {
  name: string;
  type: string;
  labels: string[];
}

let redis: TestRedis;
let backend: TestBackend;
let server: TestServer;
let metrics: Map<string, Metric>;

/** A series name (`…_bucket`, `…_count`, `…_sum` of a histogram too) to its metric. */
function metricOf(series: string): Metric | undefined {
  return metrics.get(series) ?? metrics.get(series.replace(/_(bucket|count|sum)$/, ''));
}

/** Every PromQL expression of the dashboard and the alert rules, with where it is. */
function expressions(): Array<{ where: string; expr: string }> {
  const dashboard = JSON.parse(read('deploy/grafana/heliograph-dashboard.json')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
  const fromDashboard = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: `dashboard panel "${p.title}"`, expr: t.expr })));
  const rules = parse(read('deploy/prometheus/heliograph-alerts.yml')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
  const fromRules = rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })));
  return [...fromDashboard, ...fromRules];
}

describe.skipIf(!hasRedis)('monitoring as code', () => {
  beforeAll(async () => {
    redis = await startRedis();
    backend = await new TestBackend({ jwtSecret: TEST_SECRET }).start();
    server = await startServer({
      redis: { url: redis.url },
      webhooks: { url: backend.webhookUrl, secret: HOOK_SECRET },
      roomService: { url: backend.roomServiceUrl, secret: HOOK_SECRET },
      pixelStreaming: { enabled: true, streamerPort: 0, sfuPort: 0 },
    });
    metrics = new Map(
      server.app.metrics.getMetricsAsArray().map((m) => {
        const { name, type, labelNames } = m as unknown as { name: string; type: string; labelNames?: string[] };
        return [name, { name, type: String(type), labels: labelNames ?? [] }];
      }),
    );
  });
  afterAll(async () => {
    await server?.close();
    await backend?.stop();
    await redis?.stop();
  });

  it('names only metrics that exist, with labels they have', () => {
    const problems: string[] = [];
    const exprs = expressions();
    expect(exprs.length).toBeGreaterThan(20);
    for (const { where, expr } of exprs) {
      const named = [...expr.matchAll(/\bheliograph_[a-z0-9_]+/g)].map((m) => m[0]);
      const known = named.map(metricOf);
      named.forEach((series, i) => !known[i] && problems.push(`${where}: no metric ${series}`));
      for (const [, series = '', selector = ''] of expr.matchAll(/\b(heliograph_[a-z0-9_]+)\{([^}]*)\}/g)) {
        for (const [, label = ''] of selector.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) {
          if (!SCRAPE_LABELS.has(label) && !metricOf(series)?.labels.includes(label)) {
            problems.push(`${where}: ${series} has no label ${label}`);
          }
        }
      }
      const labels = new Set(known.flatMap((m) => m?.labels ?? []));
      for (const [, list = ''] of expr.matchAll(/\bby \(([^)]*)\)/g)) {
        for (const label of list.split(',').map((l) => l.trim())) {
          if (!SCRAPE_LABELS.has(label) && !labels.has(label)) {
            problems.push(`${where}: groups by ${label}, which none of its metrics has`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('documents every metric, its type and labels, in one table of docs/operations.md', () => {
    const rows = new Map<string, { type: string; labels: string[] }>();
    for (const [, name = '', type = '', labels = ''] of read('docs/operations.md').matchAll(/^\| `(heliograph_[a-z0-9_]+)` \| (\w+) \| ([^|]*) \|/gm)) {
      rows.set(name, { type, labels: labels.trim() === '–' ? [] : labels.split(',').map((l) => l.trim().replace(/`/g, '')) });
    }
    const exported = [...metrics.values()].filter((m) => !DEFAULTS.test(m.name));
    const documented = exported.map((m) => ({ name: m.name, ...rows.get(m.name) }));
    expect(documented).toEqual(exported.map((m) => ({ name: m.name, type: m.type, labels: m.labels })));
    expect([...rows.keys()].filter((name) => !metrics.has(name))).toEqual([]);
    expect(read('docs/operations.md')).toContain('`heliograph_process_*`, `heliograph_nodejs_*`');
  });
});
