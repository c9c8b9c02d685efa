// ActorMonitor dashboard: plain JS, no build step (uPlot, the charting library, is embedded by the
// Host build). Live updates come from the server-sent events of /api/events/stream; nothing here
// polls the server. This file: the overview's workers and tasks, and the stream; charts.js: the
// charts; pages.js: the worker and task pages and the routes between them.
'use strict';

const $ = (sel) => document.querySelector(sel);
const state = { offset: 0, total: 0, serverOffset: 0, workers: new Map(), detail: null, reloadTimer: null, updates: 0 };

function fmtTime(s) {
  if (s === null || s === undefined || s === '') return '';
  return new Date(s * 1000).toISOString().replace('T', ' ').slice(0, 19);
}

function fmtNum(v, digits) {
  if (v === null || v === undefined) return '';
  return digits === undefined ? String(v) : Number(v).toFixed(digits);
}

function fmtDuration(s) {
  if (s === null || s === undefined) return '';
  return s < 1 ? `${(s * 1000).toFixed(1)} ms` : `${Number(s).toFixed(2)} s`;
}

function fmtCount(v) {
  if (v === null || v === undefined) return '';
  return Number(v).toLocaleString('en-US', { maximumFractionDigits: 2 });
}

function text(v) {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function cell(tr, value, cls) {
  const td = document.createElement('td');
  td.textContent = value;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

async function api(path) {
  const r = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

// ---- workers ---------------------------------------------------------------------------

function serverNow() { return Date.now() / 1000 + state.serverOffset; }

function workerStatus(w) {
  // Celery's alive rule: online until the last heartbeat plus freq x 2.
  return w.heartbeat_expires !== null && serverNow() < w.heartbeat_expires ? 'online' : 'offline';
}

function renderWorker(w) {
  state.workers.set(w.hostname, w);
  const body = $('#workers tbody');
  let tr = body.querySelector(`tr[data-hostname="${CSS.escape(w.hostname)}"]`);
  const fresh = !tr;
  if (fresh) {
    tr = document.createElement('tr');
    tr.dataset.hostname = w.hostname;
  }
  tr.replaceChildren();
  const a = document.createElement('a');
  a.textContent = w.hostname;
  a.className = 'worker-link';
  a.href = `#worker/${encodeURIComponent(w.hostname)}`;
  cell(tr, '').appendChild(a);
  const status = workerStatus(w);
  cell(tr, status, `status status-${status}`);
  cell(tr, fmtNum(w.active), 'active');
  cell(tr, fmtNum(w.processed), 'processed');
  cell(tr, Array.isArray(w.loadavg) ? w.loadavg.map((x) => Number(x).toFixed(2)).join(' ') : text(w.loadavg), 'loadavg');
  cell(tr, fmtTime(w.last_heartbeat), 'heartbeat');
  cell(tr, w.drift === null || w.drift === undefined ? '' : `${w.drift.toFixed(3)} s`, 'drift');
  if (fresh) {
    const rows = [...body.children];
    const before = rows.find((r) => r.dataset.hostname > w.hostname);
    body.insertBefore(tr, before || null);
  } else {
    tr.classList.remove('flash'); void tr.offsetWidth; tr.classList.add('flash');
  }
  // The feed is a page (the first workers by name): say so when there are more.
  $('#worker-count').textContent = state.workersTotal > state.workers.size ? `(${state.workers.size} of ${state.workersTotal})` : `(${state.workers.size})`;
  const list = $('#worker-names');
  list.replaceChildren(...[...state.workers.keys()].sort().map((h) => Object.assign(document.createElement('option'), { value: h })));
}

function refreshStatuses() {
  for (const tr of document.querySelectorAll('#workers tbody tr')) {
    const w = state.workers.get(tr.dataset.hostname);
    const td = tr.querySelector('td.status');
    const status = workerStatus(w);
    if (td.textContent !== status) { td.textContent = status; td.className = `status status-${status}`; }
  }
}

async function loadWorkers() {
  const data = await api('/api/dashboard/workers');
  state.serverOffset = data.now - Date.now() / 1000;
  state.workersTotal = data.total;
  for (const w of data.workers) renderWorker(w);
}

// ---- tasks -----------------------------------------------------------------------------

function epochOf(input) {
  // The inputs are read as UTC, like every time this page shows.
  return input.value ? Date.parse(input.value + 'Z') / 1000 : '';
}

function query(fresh) {
  const p = new URLSearchParams();
  const add = (k, v) => { if (v !== '' && v !== null && v !== undefined) p.set(k, v); };
  add('state', $('#filter-state').value);
  add('name', $('#filter-name').value.trim());
  add('worker', $('#filter-worker').value.trim());
  const since = epochOf($('#filter-since')), until = epochOf($('#filter-until'));
  if (since !== '' || until !== '') { p.set('time_field', 'received'); add('since', since); add('until', until); }
  add('search', $('#filter-search').value.trim());
  p.set('sort', 'received');
  p.set('order', 'desc');
  p.set('limit', $('#filter-limit').value);
  p.set('offset', state.offset);
  // After a live update: read once every node committed what it applied (a checkpoint).
  if (fresh) p.set('fresh', '1');
  return p;
}

function renderTaskRow(tr, t) {
  tr.replaceChildren();
  const a = document.createElement('a');
  a.className = 'task-link';
  a.dataset.uuid = t.uuid;
  a.href = `#task/${t.uuid}`;
  a.textContent = t.uuid;
  cell(tr, '', 'uuid').appendChild(a);
  cell(tr, t.name || '', 'name');
  cell(tr, t.state || '', `state state-${t.state}`);
  cell(tr, t.worker || '', 'worker');
  cell(tr, fmtTime(t.received), 'received');
  cell(tr, fmtTime(t.started), 'started');
  cell(tr, fmtDuration(t.runtime), 'runtime');
  cell(tr, text(t.args), 'args');
}

async function loadTasks(fresh) {
  clearTimeout(state.reloadTimer);
  state.reloadTimer = null;
  let data;
  try {
    data = await api(`/api/query/tasks?${query(fresh)}`);
    $('#task-error').hidden = true;
  } catch (e) {
    $('#task-error').textContent = String(e.message || e);
    $('#task-error').hidden = false;
    return;
  }
  state.total = data.total;
  const body = $('#tasks tbody');
  body.replaceChildren(...data.tasks.map((t) => {
    const tr = document.createElement('tr');
    tr.dataset.uuid = t.uuid;
    renderTaskRow(tr, t);
    return tr;
  }));
  $('#total').textContent = `${data.total} tasks`;
  const limit = data.limit || Number($('#filter-limit').value);
  const first = data.total === 0 ? 0 : data.offset + 1;
  $('#page').textContent = `${first}–${data.offset + data.tasks.length} of ${data.total}`;
  $('#prev').disabled = data.offset === 0;
  $('#next').disabled = data.offset + limit >= data.total;
}

async function loadNames() {
  try {
    const counts = await api('/api/query/counts');
    const names = Object.keys(counts.by_name || {}).sort();
    $('#task-names').replaceChildren(...names.map((n) => Object.assign(document.createElement('option'), { value: n })));
  } catch (e) { /* the list still works without suggestions */ }
}

function scheduleReload() {
  if (state.reloadTimer === null) state.reloadTimer = setTimeout(() => { loadTasks(true); loadNames(); }, 400);
}

// ---- live updates (server-sent events) -------------------------------------------------

function connect() {
  const source = new EventSource('/api/events/stream');
  const live = $('#live');
  source.addEventListener('hello', (e) => {
    live.textContent = 'live';
    live.className = 'badge on';
    $('#node').textContent = `node ${JSON.parse(e.data).node}`;
    // Whatever changed while disconnected: read once, then follow the stream.
    loadWorkers();
    scheduleReload();
    loadCharts();
  });
  source.addEventListener('chart', (e) => onChart(JSON.parse(e.data)));
  source.addEventListener('update', (e) => {
    const batch = JSON.parse(e.data);
    state.updates += 1;
    $('#updates').textContent = String(state.updates);
    for (const w of batch.workers) { renderWorker(w); onWorkerChanged(w); }
    let touchesPage = batch.more;
    for (const t of batch.tasks) {
      const tr = document.querySelector(`#tasks tbody tr[data-uuid="${CSS.escape(t.uuid)}"]`);
      if (tr) {
        tr.querySelector('td.state').textContent = t.state || '';
        tr.querySelector('td.state').className = `state state-${t.state}`;
        tr.querySelector('td.worker').textContent = t.worker || '';
        tr.classList.remove('flash'); void tr.offsetWidth; tr.classList.add('flash');
      }
      touchesPage = true;
      onTaskChanged(t);
    }
    // New tasks, totals and filters are the query API's: read the page again, at most every 400 ms.
    if (touchesPage) scheduleReload();
  });
  source.onerror = () => { live.textContent = 'reconnecting'; live.className = 'badge off'; };
}

// ---- wiring ----------------------------------------------------------------------------

$('#filters').addEventListener('submit', (e) => { e.preventDefault(); state.offset = 0; loadTasks(); });
$('#filter-limit').onchange = () => { state.offset = 0; loadTasks(); };
$('#clear').onclick = () => { $('#filters').reset(); state.offset = 0; loadTasks(); };
$('#prev').onclick = () => { state.offset = Math.max(0, state.offset - Number($('#filter-limit').value)); loadTasks(); };
$('#next').onclick = () => { state.offset += Number($('#filter-limit').value); loadTasks(); };
setInterval(refreshStatuses, 1000); // the expiry rule moves with time, not with events

// After every script of the page (charts.js, pages.js) is loaded.
window.addEventListener('DOMContentLoaded', () => {
  loadWorkers();
  loadTasks();
  loadNames();
  route();
  connect();
});
