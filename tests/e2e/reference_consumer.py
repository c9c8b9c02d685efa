#!/usr/bin/python3
"""Celery's own EventReceiver + State listening live beside an ActorMonitor node: the reference.

Usage: reference_consumer.py BROKER_URL OUT.json
Prints "ready" once its queue consumes; on SIGTERM writes State in the oracle's schema to OUT.
"""
import json
import signal
import sys
import time

from celery import Celery
from celery.events.receiver import EventReceiver
from celery.events.state import State


class Receiver(EventReceiver):
    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        print("ready", flush=True)


def task_view(t):
    return {
        "uuid": t.uuid, "name": t.name, "state": t.state, "sent": t.sent, "received": t.received,
        "started": t.started, "succeeded": t.succeeded, "failed": t.failed, "retried": t.retried,
        "revoked": t.revoked, "rejected": t.rejected, "args": t.args, "kwargs": t.kwargs, "eta": t.eta,
        "expires": t.expires, "retries": t.retries, "result": t.result, "exception": t.exception,
        "traceback": t.traceback, "timestamp": t.timestamp, "runtime": t.runtime, "exchange": t.exchange,
        "routing_key": t.routing_key, "clock": t.clock, "client": t.client,
        "worker": t.worker.hostname if t.worker is not None else None,
        "root_id": t.root_id, "parent_id": t.parent_id, "children": sorted(c.uuid for c in t.children),
    }


def worker_view(w, as_of):
    return {
        "hostname": w.hostname, "pid": w.pid, "freq": w.freq, "heartbeats": list(w.heartbeats),
        "clock": w.clock, "active": w.active, "processed": w.processed, "loadavg": w.loadavg,
        "sw_ident": w.sw_ident, "sw_ver": w.sw_ver, "sw_sys": w.sw_sys,
        "alive": bool(w.heartbeats and as_of < w.heartbeat_expires),
    }


def main():
    url, out = sys.argv[1], sys.argv[2]
    app = Celery("reference", broker=url, set_as_current=False)
    state = State(max_tasks_in_memory=10 ** 9, max_workers_in_memory=10 ** 9)
    with app.connection() as conn:
        recv = Receiver(conn, handlers={"*": state.event}, app=app)

        def stop(*_):
            recv.should_stop = True
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        for _ in recv.consume(limit=None, timeout=None, wakeup=False):
            pass
    as_of = time.time()
    result = {
        "as_of": as_of, "event_count": state.event_count, "task_count": state.task_count,
        "task_types": state.task_types(),
        "tasks": {u: task_view(t) for u, t in state.tasks.items()},
        "workers": {h: worker_view(w, as_of) for h, w in state.workers.items()},
        "alive_workers": sorted(w.hostname for w in state.workers.values() if w.heartbeats and as_of < w.heartbeat_expires),
        "tasks_by_time": [u for u, _ in state.tasks_by_time()],
    }
    with open(out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True, default=str)


if __name__ == "__main__":
    main()
