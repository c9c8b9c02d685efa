#!/usr/bin/python3
"""Celery's own EventReceiver + State listening live beside an ActorMonitor node: the reference.

Usage: reference_consumer.py BROKER_URL OUT.json [STOP_AFTER_TYPE]
(with STOP_AFTER_TYPE it also stops by itself once an event of that type arrived)
Prints "ready" once its queue consumes; on SIGTERM writes State in the oracle's schema to OUT,
plus "received": every message body exactly as kombu decoded it (re-serialized as JSON), in arrival order, with its
routing key and headers.
"""
import copy
import json
import os
import signal
import sys
import time

from celery import Celery
from celery.events.receiver import EventReceiver
from celery.events.state import State


RECEIVED = []
STOP_AFTER = sys.argv[3] if len(sys.argv) > 3 else None


class Receiver(EventReceiver):
    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        print("ready", flush=True)

    def get_consumers(self, Consumer, channel):
        return [Consumer(queues=[self.queue], callbacks=[self._record], no_ack=True, accept=self.accept)]

    def _record(self, body, message):
        RECEIVED.append({"routing_key": message.delivery_info.get("routing_key"),
                         "headers": dict(message.headers or {}),
                         "content_type": message.content_type,
                         "content_encoding": message.content_encoding,
                         "delivery_mode": message.properties.get("delivery_mode"),
                         "body": json.dumps(copy.deepcopy(body))})  # re-serialized as kombu would: key order kept
        self._receive(body, message)
        events = body if isinstance(body, list) else [body]
        if STOP_AFTER and any(isinstance(e, dict) and e.get("type") == STOP_AFTER for e in events):
            self.should_stop = True


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
    # EventReceiver accepts {event_serializer, "json"}: msgpack events too when the run sends them.
    app.conf.event_serializer = os.environ.get("E2E_EVENT_SERIALIZER", "json")
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
        "received": RECEIVED,
    }
    with open(out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True, default=str)


if __name__ == "__main__":
    main()
