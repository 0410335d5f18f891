import type { TargetName } from './targets.js';

/** Where the cross-node scenario's receivers are: on the senders' node, or on the other node. */
export type Placement = 'same-node' | 'cross-node';

export interface Row {
  scenario: string;
  metric: string;
  /** A server, or (cross-node scenario, Heliograph in a cluster) where the receivers were. */
  target: TargetName | Placement;
  value: number;
  better: 'higher' | 'lower';
}

const fmt = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '—' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(3));

/**
 * One line per scenario and metric: each target's value, and `subject`'s ratio to each other
 * target (Heliograph's to the others by default; cross-node's to same-node for that scenario).
 */
export function renderTable(rows: Row[], subject: Row['target'] = 'heliograph', label = 'hg'): string {
  const targets = [...new Set(rows.map((r) => r.target))];
  const others = targets.filter((t) => t !== subject);
  const header = ['scenario', 'metric', ...targets, ...others.map((t) => `${label}/${t}`)];
  const keys = [...new Set(rows.map((r) => `${r.scenario}\u0000${r.metric}`))];
  const lines = keys.map((key) => {
    const [scenario, metric] = key.split('\u0000') as [string, string];
    const value = (t: Row['target']) => rows.find((r) => r.scenario === scenario && r.metric === metric && r.target === t)?.value;
    const hg = value(subject);
    return [scenario, metric, ...targets.map((t) => fmt(value(t))), ...others.map((t) => (hg !== undefined && value(t) ? (hg / value(t)!).toFixed(2) : '—'))];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const render = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [render(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(render)].join('\n');
}

const COLOURS: Record<string, string> = {
  heliograph: '#f5b301',
  floor: '#8b98a5',
  peerjs: '#58a6ff',
  socketio: '#3fb950',
  'same-node': '#f5b301',
  'cross-node': '#f85149',
};

/** An HTML page with one SVG per offered load: latency (log scale) against percentile. */
export function renderChart(series: Record<string, Record<string, Array<[number, number]>>>): string {
  const charts = Object.entries(series).map(([title, byTarget]) => {
    const width = 720;
    const height = 360;
    const pad = 50;
    const all = Object.values(byTarget).flat();
    const maxMs = Math.max(1, ...all.map(([ms]) => ms));
    const minMs = Math.max(0.01, Math.min(...all.map(([ms]) => ms)));
    const x = (q: number) => pad + (-Math.log10(1 - q) / 4) * (width - 2 * pad);
    const y = (ms: number) => height - pad - ((Math.log10(ms) - Math.log10(minMs)) / (Math.log10(maxMs) - Math.log10(minMs) || 1)) * (height - 2 * pad);
    const paths = Object.entries(byTarget).map(([target, cdf]) => {
      const d = cdf
        .filter(([ms]) => ms > 0)
        .map(([ms, q], i) => `${i ? 'L' : 'M'}${x(q).toFixed(1)},${y(ms).toFixed(1)}`)
        .join(' ');
      return `<path d="${d}" fill="none" stroke="${COLOURS[target] ?? '#fff'}" stroke-width="2"><title>${target}</title></path>`;
    });
    const ticks = [0.5, 0.9, 0.99, 0.999, 0.9999].map(
      (q) => `<text x="${x(q)}" y="${height - pad + 18}" fill="#8b98a5" font-size="11" text-anchor="middle">p${(q * 100).toString()}</text>`,
    );
    const msTicks = [minMs, Math.sqrt(minMs * maxMs), maxMs].map(
      (ms) => `<text x="${pad - 6}" y="${y(ms) + 4}" fill="#8b98a5" font-size="11" text-anchor="end">${ms.toFixed(2)}</text>`,
    );
    const legend = Object.keys(byTarget).map((t, i) => `<text x="${pad + 10 + i * 110}" y="20" fill="${COLOURS[t] ?? '#fff'}" font-size="13">■ ${t}</text>`);
    return `<h2>${title}</h2><svg width="${width}" height="${height}" style="background:#182028">${legend.join('')}${paths.join('')}${ticks.join('')}${msTicks.join('')}<text x="${pad}" y="${height - 8}" fill="#8b98a5" font-size="11">percentile →   (y: one-way latency, ms, log scale)</text></svg>`;
  });
  return `<!doctype html><meta charset="utf-8"><title>Heliograph latency</title><body style="background:#0f1419;color:#e6edf3;font-family:system-ui">${charts.join('')}</body>`;
}
