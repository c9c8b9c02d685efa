// Celery's remote control from the worker and task pages: Flower's control routes on this node
// (POST, the node's credentials; refused on a read-only node or without credentials, and the
// page shows the node's reason). Destructive actions ask first.
'use strict';

async function control(path, resultSelector) {
  const out = $(resultSelector);
  out.hidden = false;
  out.className = 'control-result';
  out.textContent = '…';
  let r;
  try {
    r = await fetch(path, { method: 'POST', headers: { Accept: 'application/json' } });
  } catch (e) {
    out.className = 'control-result failed';
    out.textContent = String(e.message || e);
    return null;
  }
  const body = await r.text();
  let message = body;
  try { const j = JSON.parse(body); message = j.message || j.error || j['task-id'] || body; } catch (e) { /* Flower answers refusals in plain text */ }
  out.className = r.ok ? 'control-result' : 'control-result failed';
  out.textContent = r.ok ? message : `${r.status}: ${message}`;
  return r.ok;
}

// ---- worker page -----------------------------------------------------------------------

async function inspectWorker(hostname) {
  const pool = $('#worker-pool');
  const dl = $('#worker-inspected');
  let data;
  try {
    const r = await fetch(`/api/workers?workername=${encodeURIComponent(hostname)}&refresh=1`, { headers: { Accept: 'application/json' } });
    const body = await r.text();
    if (!r.ok) throw new Error(`${r.status}: ${(() => { try { return JSON.parse(body).error; } catch (e) { return body; } })()}`);
    data = JSON.parse(body)[hostname] || {};
  } catch (e) {
    pool.textContent = `The worker was not inspected: ${e.message || e}`;
    dl.replaceChildren();
    return;
  }
  if (page.worker !== hostname) return;
  if (!data.stats) {
    pool.textContent = 'The worker did not answer the inspect in time; what the events tell is above.';
    return;
  }
  const p = data.stats.pool || {};
  pool.textContent = `inspected ${fmtTime(data.timestamp)}`;
  const items = [];
  const add = (name, value) => {
    items.push(Object.assign(document.createElement('dt'), { textContent: name }));
    const dd = Object.assign(document.createElement('dd'), { textContent: value });
    dd.dataset.field = name;
    items.push(dd);
  };
  add('pool', `${(p.processes || []).length} process(es), max concurrency ${p['max-concurrency'] ?? '?'}`);
  add('queues', (data.active_queues || []).map((q) => q.name).join(', '));
  add('registered', (data.registered || []).join(', '));
  add('active', fmtCount((data.active || []).length));
  add('reserved', fmtCount((data.reserved || []).length));
  add('scheduled', fmtCount((data.scheduled || []).length));
  dl.replaceChildren(...items);
}

async function workerAction(path, question) {
  const hostname = page.worker;
  if (!hostname || (question && !window.confirm(question.replace('%s', hostname)))) return;
  if (await control(path.replace('%s', encodeURIComponent(hostname)), '#worker-control-result')) inspectWorker(hostname);
}

$('#worker-inspect').onclick = () => { if (page.worker) inspectWorker(page.worker); };
$('#pool-grow').onclick = () => workerAction('/api/worker/pool/grow/%s?n=1');
$('#pool-shrink').onclick = () => workerAction('/api/worker/pool/shrink/%s?n=1', "Shrink %s's pool by one process?");
$('#add-consumer').onclick = () => {
  const queue = $('#consumer-queue').value.trim();
  if (queue) workerAction(`/api/worker/queue/add-consumer/%s?queue=${encodeURIComponent(queue)}`);
};
$('#cancel-consumer').onclick = () => {
  const queue = $('#consumer-queue').value.trim();
  if (queue) workerAction(`/api/worker/queue/cancel-consumer/%s?queue=${encodeURIComponent(queue)}`, `Stop %s consuming from ${queue}?`);
};
$('#worker-shutdown').onclick = () => workerAction('/api/worker/shutdown/%s', 'Shut down worker %s? It stops taking tasks and exits.');

// ---- task page -------------------------------------------------------------------------

$('#task-revoke').onclick = () => {
  const uuid = page.task;
  if (uuid && window.confirm(`Revoke task ${uuid}? Workers will not run it.`)) control(`/api/task/revoke/${encodeURIComponent(uuid)}`, '#task-control-result');
};
$('#task-terminate').onclick = () => {
  const uuid = page.task;
  if (uuid && window.confirm(`Terminate task ${uuid}? Its pool process is killed (SIGTERM) if it is running.`)) {
    control(`/api/task/revoke/${encodeURIComponent(uuid)}?terminate=true&signal=SIGTERM`, '#task-control-result');
  }
};
