// The Activity charts (uPlot): the buckets of /api/dashboard/charts, read once when the stream
// opens, then kept live by its "chart" messages (the last two buckets, replaced by start time, so
// a bucket pushed twice is never counted twice).
'use strict';

const charts = { step: 5, bins: { per_decade: 16, offset: 96 }, buckets: new Map(), plots: {}, renderTimer: null, minutes: 15, end: 0 };
window.amCharts = charts; // read by the dashboard test: what each chart has drawn

const OUTCOMES = [['task-succeeded', 'succeeded', '#1b7f3b'], ['task-failed', 'failed', '#b42318'], ['task-retried', 'retried', '#dc6803']];
const PERCENTILES = [[0.5, 'p50', '#2e90fa'], [0.9, 'p90', '#dc6803'], [0.99, 'p99', '#b42318']];
const PALETTE = ['#2e90fa', '#1b7f3b', '#b42318', '#dc6803', '#7a5af8', '#0e9384', '#c11574', '#667085', '#4e5ba6', '#b54708',
  '#3b7c0f', '#6172f3'];
const MAX_RUNTIME_NAMES = 20;

// Below a millisecond, in µs: runtime percentiles of fast tasks would all read "0.0 ms".
function fmtRuntime(s) {
  if (s === null || s === undefined) return '';
  return s < 0.001 ? `${(s * 1e6).toFixed(s < 1e-5 ? 1 : 0)} µs` : fmtDuration(s);
}

// A dot on every bucket that is not zero: a burst that fits in one bucket still shows.
const nonZeroPoints = { show: true, size: 6, filter: (u, i) => u.data[i].flatMap((v, k) => (v ? [k] : [])) };

function binUpper(bin) { return Math.pow(10, (bin - charts.bins.offset) / charts.bins.per_decade); }

// Nearest rank over binned runtimes: the upper bound of the bin holding the q-th runtime.
function percentile(bins, total, q) {
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const [bin, n] of [...bins.entries()].sort((a, b) => a[0] - b[0])) {
    seen += n;
    if (seen >= rank) return binUpper(bin);
  }
  return null;
}

async function loadCharts() {
  let data;
  try {
    data = await api(`/api/dashboard/charts?minutes=${charts.minutes}`);
  } catch (e) {
    return; // the next "chart" message brings the newest buckets anyway
  }
  charts.step = data.step;
  charts.bins = data.runtime_bins;
  charts.buckets = new Map(data.buckets.map((b) => [b.t, b]));
  $('#chart-step').textContent = `${data.step} s per point`;
  renderCharts();
}

function onChart(data) {
  charts.step = data.step;
  charts.bins = data.runtime_bins;
  for (const b of data.buckets) charts.buckets.set(b.t, b);
  const oldest = data.now - charts.minutes * 60;
  for (const t of [...charts.buckets.keys()]) if (t + charts.step <= oldest) charts.buckets.delete(t);
  if (charts.renderTimer === null) charts.renderTimer = setTimeout(renderCharts, 250);
}

// The series every chart draws, from the buckets in time order.
function chartData() {
  const buckets = [...charts.buckets.values()].sort((a, b) => a.t - b.t);
  const xs = buckets.map((b) => b.t);
  const types = [...new Set(buckets.flatMap((b) => Object.keys(b.events)))].sort();
  const events = types.map((type) => buckets.map((b) => (b.events[type] || 0) / charts.step));
  const outcomes = OUTCOMES.map(([type]) => buckets.map((b) => b.events[type] || 0));
  const workers = buckets.map((b) => b.workers_online);
  // Runtimes by name over the window: every bucket's bins merged.
  const byName = new Map();
  for (const b of buckets) {
    for (const [name, pairs] of Object.entries(b.runtimes)) {
      let entry = byName.get(name);
      if (!entry) byName.set(name, entry = { name, count: 0, bins: new Map() });
      for (const [bin, n] of pairs) { entry.bins.set(bin, (entry.bins.get(bin) || 0) + n); entry.count += n; }
    }
  }
  const runtimes = [...byName.values()]
    .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name))
    .map((e) => ({ name: e.name, count: e.count, p: PERCENTILES.map(([q]) => percentile(e.bins, e.count, q)) }));
  return { xs, types, events, outcomes, workers, runtimes };
}

function renderCharts() {
  clearTimeout(charts.renderTimer);
  charts.renderTimer = null;
  const d = chartData();
  // The whole window on the time axis, however little of it this node has seen.
  charts.end = serverNow();
  const time = (unit) => ({
    scales: { x: { time: true, range: () => [charts.end - charts.minutes * 60, charts.end + charts.step] } },
    axes: [{}, { values: (u, splits) => splits.map((v) => unit(v)), size: 60 }],
  });
  plot('events', '#chart-events', [d.xs, ...d.events],
    d.types.map((t, i) => ({ label: t, stroke: PALETTE[i % PALETTE.length], width: 2, points: { ...nonZeroPoints, fill: PALETTE[i % PALETTE.length] } })),
    time((v) => `${fmtCount(v)}/s`));
  plot('outcomes', '#chart-outcomes', [d.xs, ...d.outcomes],
    OUTCOMES.map(([, label, color]) => ({ label, stroke: color, width: 2, points: { ...nonZeroPoints, fill: color } })),
    time(fmtCount));
  plot('workers', '#chart-workers', [d.xs, d.workers],
    [{ label: 'online', stroke: '#1b7f3b', width: 2, fill: 'rgba(27,127,59,0.08)', points: { ...nonZeroPoints, fill: '#1b7f3b' } }],
    time(fmtCount));

  const shown = d.runtimes.slice(0, MAX_RUNTIME_NAMES);
  const names = shown.map((r) => r.name);
  plot('runtimes', '#chart-runtimes', [names.map((_, i) => i), ...PERCENTILES.map((_, k) => shown.map((r) => r.p[k]))],
    PERCENTILES.map(([, label, color]) => ({ label, stroke: color, paths: () => null, points: { show: true, size: 9, fill: color } })),
    {
      scales: { x: { time: false, range: () => [-0.5, Math.max(names.length, 1) - 0.5] }, y: { distr: 3 } },
      axes: [
        { values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? names[v] || '' : '')), incrs: [1], rotate: 0 },
        { values: (u, splits) => splits.map((v) => fmtRuntime(v)), size: 70 },
      ],
    }, names);

  $('#runtime-table tbody').replaceChildren(...d.runtimes.map((r) => {
    const tr = document.createElement('tr');
    tr.dataset.name = r.name;
    cell(tr, r.name, 'name');
    cell(tr, fmtCount(r.count), 'num count');
    r.p.forEach((v, k) => { const td = cell(tr, fmtRuntime(v), `num ${PERCENTILES[k][1]}`); td.dataset.seconds = String(v); });
    return tr;
  }));
}

// One uPlot per chart, made again only when its series change (new event types, new names).
function plot(key, selector, data, series, extra, categories) {
  const el = $(selector);
  const signature = JSON.stringify([series.map((s) => s.label), categories || null]);
  const existing = charts.plots[key];
  if (existing && existing.signature === signature) {
    existing.u.setData(data);
    return;
  }
  if (existing) existing.u.destroy();
  const opts = {
    width: Math.max(el.clientWidth, 320),
    height: 220,
    series: [{}, ...series],
    scales: { x: { time: true } },
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    ...extra,
  };
  charts.plots[key] = { signature, categories: categories || null, u: new uPlot(opts, data, el) };
}

$('#chart-window').onchange = () => { charts.minutes = Number($('#chart-window').value); loadCharts(); };
window.addEventListener('resize', () => {
  for (const p of Object.values(charts.plots)) {
    const el = p.u.root.parentElement;
    if (el) p.u.setSize({ width: Math.max(el.clientWidth, 320), height: 220 });
  }
});
