// The worker page (#worker/<hostname>) and the task page (#task/<uuid>), and the routes between
// them and the overview. Each page reads one worker or one task and pages of the query API, never
// the whole store.
'use strict';

const page = { worker: null, task: null, workerTimer: null, inspected: null };
const RECENT_TASKS = 20;
const MAX_CHILDREN = 100;

// ---- worker page -----------------------------------------------------------------------

const WORKER_FIELDS = ['hostname', 'pid', 'freq', 'sw_ident', 'sw_ver', 'sw_sys', 'active', 'processed', 'loadavg', 'clock',
  'heartbeats', 'timestamp', 'utcoffset'];

async function showWorker(hostname) {
  page.worker = hostname;
  $('#worker-name').textContent = hostname;
  const fields = $('#worker-fields');
  let worker, counts, tasks;
  try {
    const name = encodeURIComponent(hostname);
    [worker, counts, tasks] = await Promise.all([
      api(`/api/workers?workername=${name}`),
      api(`/api/query/counts?worker=${name}`),
      api(`/api/query/tasks?worker=${name}&sort=received&order=desc&limit=${RECENT_TASKS}`),
    ]);
  } catch (e) {
    fields.replaceChildren(Object.assign(document.createElement('dd'), { textContent: String(e.message || e), className: 'error' }));
    return;
  }
  if (page.worker !== hostname) return;
  const w = worker[hostname] || {};
  const status = w.alive ? 'online' : 'offline';
  $('#worker-status').textContent = status;
  $('#worker-status').className = `status status-${status}`;
  const items = [];
  for (const f of WORKER_FIELDS) {
    if (w[f] === null || w[f] === undefined) continue;
    let v = w[f];
    if (f === 'timestamp') v = `${fmtTime(v)} (${v})`;
    else if (f === 'heartbeats') v = v.length ? `${v.length}, last ${fmtTime(v[v.length - 1])}` : 'none (offline)';
    else if (f === 'loadavg' && Array.isArray(v)) v = v.map((x) => Number(x).toFixed(2)).join(' ');
    else if (f === 'processed' || f === 'active') v = fmtCount(v);
    items.push(Object.assign(document.createElement('dt'), { textContent: f }));
    items.push(Object.assign(document.createElement('dd'), { textContent: text(v) }));
    items[items.length - 1].dataset.field = f;
  }
  fields.replaceChildren(...items);

  $('#worker-counts tbody').replaceChildren(...Object.entries(counts.by_state || {}).map(([s, n]) => {
    const tr = document.createElement('tr');
    tr.dataset.state = s;
    cell(tr, s, `state state-${s}`);
    cell(tr, fmtCount(n), 'num count');
    return tr;
  }));
  // The pool size, registered tasks and queues are not in Celery's events: only an inspect tells them.
  if (page.inspected !== hostname) {
    page.inspected = hostname;
    $('#worker-pool').textContent = 'asking the worker (inspect)…';
    $('#worker-inspected').replaceChildren();
    inspectWorker(hostname);
  }

  $('#worker-task-total').textContent = `(${fmtCount(Math.min(tasks.tasks.length, tasks.total))} newest of ${fmtCount(tasks.total)})`;
  $('#worker-tasks tbody').replaceChildren(...tasks.tasks.map((t) => {
    const tr = document.createElement('tr');
    tr.dataset.uuid = t.uuid;
    cell(tr, '', 'uuid').appendChild(taskLink(t.uuid));
    cell(tr, t.name || '', 'name');
    cell(tr, t.state || '', `state state-${t.state}`);
    cell(tr, fmtTime(t.received), 'received');
    cell(tr, fmtTime(t.started), 'started');
    cell(tr, fmtDuration(t.runtime), 'runtime');
    return tr;
  }));
}

// ---- task page -------------------------------------------------------------------------

const DETAIL_FIELDS = ['name', 'state', 'worker', 'client', 'sent', 'received', 'started', 'succeeded', 'failed', 'retried',
  'revoked', 'rejected', 'runtime', 'args', 'kwargs', 'result', 'exception', 'traceback', 'eta', 'expires', 'retries',
  'exchange', 'routing_key', 'clock', 'timestamp'];
const TIME_FIELDS = new Set(['sent', 'received', 'started', 'succeeded', 'failed', 'retried', 'revoked', 'rejected', 'timestamp']);
// The task's events as Celery keeps them: the time of the last event of each type.
const TIMELINE = [['sent', 'task-sent', 'PENDING'], ['received', 'task-received', 'RECEIVED'], ['started', 'task-started', 'STARTED'],
  ['retried', 'task-retried', 'RETRY'], ['succeeded', 'task-succeeded', 'SUCCESS'], ['failed', 'task-failed', 'FAILURE'],
  ['rejected', 'task-rejected', 'REJECTED'], ['revoked', 'task-revoked', 'REVOKED']];

function taskLink(uuid) {
  const a = document.createElement('a');
  a.className = 'task-link';
  a.dataset.uuid = uuid;
  a.href = `#task/${uuid}`;
  a.textContent = uuid;
  return a;
}

function renderTimeline(t) {
  const steps = TIMELINE.filter(([f]) => typeof t[f] === 'number').map(([f, type, st]) => ({ f, type, st, at: t[f] }))
    .sort((a, b) => a.at - b.at);
  const first = steps.length ? steps[0].at : 0;
  $('#timeline').replaceChildren(...steps.map((s) => {
    const li = document.createElement('li');
    li.dataset.type = s.type;
    li.className = `state-${s.st}`;
    li.append(`${s.type} `, Object.assign(document.createElement('span'), { textContent: fmtTime(s.at) }));
    li.append(Object.assign(document.createElement('span'), { className: 'offset', textContent: s.at === first ? '' : `+${fmtDuration(s.at - first)}` }));
    return li;
  }));
}

async function showTask(uuid) {
  page.task = uuid;
  $('#detail-uuid').textContent = uuid;
  const dl = $('#detail-fields');
  let t;
  try {
    t = await api(`/api/task/info/${encodeURIComponent(uuid)}`);
  } catch (e) {
    $('#timeline').replaceChildren();
    dl.replaceChildren(Object.assign(document.createElement('dd'), { textContent: String(e.message || e), className: 'error' }));
    return;
  }
  if (page.task !== uuid) return;
  renderTimeline(t);
  const items = [];
  const add = (name, node) => {
    const dt = document.createElement('dt');
    dt.textContent = name;
    const dd = document.createElement('dd');
    dd.dataset.field = name;
    dd.append(node);
    items.push(dt, dd);
  };
  for (const f of DETAIL_FIELDS) {
    if (t[f] === null || t[f] === undefined) continue;
    if (f === 'worker') {
      const a = Object.assign(document.createElement('a'), { className: 'worker-link', textContent: t.worker, href: `#worker/${encodeURIComponent(t.worker)}` });
      add(f, a);
    } else add(f, TIME_FIELDS.has(f) ? `${fmtTime(t[f])} (${t[f]})` : f === 'runtime' ? fmtDuration(t[f]) : text(t[f]));
  }
  for (const f of ['parent_id', 'root_id']) if (t[f]) add(f, taskLink(t[f]));
  const children = document.createElement('span');
  const all = t.children || [];
  all.slice(0, MAX_CHILDREN).forEach((c, i) => { if (i) children.append(' '); children.append(taskLink(c)); });
  if (all.length > MAX_CHILDREN) children.append(` … and ${fmtCount(all.length - MAX_CHILDREN)} more`);
  add('children', children);
  dl.replaceChildren(...items);
}

// ---- routes and live changes -----------------------------------------------------------

function route() {
  const task = location.hash.match(/^#task\/(.+)$/);
  const worker = location.hash.match(/^#worker\/(.+)$/);
  page.task = null;
  page.worker = null;
  page.inspected = null;
  $('#worker-control-result').hidden = true;
  $('#task-control-result').hidden = true;
  $('#overview').hidden = Boolean(task || worker);
  $('#detail').hidden = !task;
  $('#worker-page').hidden = !worker;
  if (task) showTask(decodeURIComponent(task[1]));
  if (worker) showWorker(decodeURIComponent(worker[1]));
  window.scrollTo(0, 0);
}

// The open worker page's fields, counts and recent tasks: read again, at most once a second.
function reloadWorker(hostname) {
  if (page.worker === null || hostname !== page.worker || page.workerTimer !== null) return;
  page.workerTimer = setTimeout(() => { page.workerTimer = null; if (page.worker !== null) showWorker(page.worker); }, 1000);
}

function onTaskChanged(t) {
  if (t.uuid === page.task) showTask(t.uuid);
  reloadWorker(t.worker);
}

function onWorkerChanged(w) { reloadWorker(w.hostname); }

$('#close-detail').onclick = () => { location.hash = ''; };
$('#close-worker').onclick = () => { location.hash = ''; };
$('#home').onclick = (e) => { e.preventDefault(); location.hash = ''; };
window.addEventListener('hashchange', route);
