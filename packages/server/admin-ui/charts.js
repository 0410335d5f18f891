// Live charts over the last minutes (uPlot, from node_modules): one point per overview.
const WINDOW = 300;

function make(el, series) {
  const opts = {
    width: el.clientWidth || 400,
    height: 200,
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: false } }))],
    axes: [{}, { size: 50 }],
    scales: { x: { time: true } },
    legend: { live: false },
  };
  const data = [[], ...series.map(() => [])];
  // uPlot is loaded by a classic script tag as a global.
  const plot = new globalThis.uPlot(opts, data, el);
  new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: 200 })).observe(el);
  return { plot, data, el };
}

function push(chart, t, values) {
  chart.data[0].push(t);
  values.forEach((v, i) => chart.data[i + 1].push(v));
  if (chart.data[0].length > WINDOW) {
    for (const column of chart.data) column.shift();
  }
  chart.plot.setData(chart.data);
  // For tests and for the curious: how many points, and the latest values.
  chart.el.dataset.points = String(chart.data[0].length);
  chart.el.dataset.last = JSON.stringify(values);
}

export function createCharts() {
  const signals = make(document.getElementById('chart-signals'), [
    { label: 'signals/s', color: '#2563eb' },
    { label: 'errors/s', color: '#b91c1c' },
  ]);
  const load = make(document.getElementById('chart-load'), [
    { label: 'connections', color: '#16a34a' },
    { label: 'peers', color: '#9333ea' },
  ]);
  const latency = make(document.getElementById('chart-latency'), [{ label: 'relay p99 ms', color: '#ea580c' }]);
  return {
    add(t, figures) {
      push(signals, t, [figures.signalsPerSecond, figures.errorsPerSecond]);
      push(load, t, [figures.connections, figures.peers]);
      push(latency, t, [figures.relayP99]);
    },
  };
}
