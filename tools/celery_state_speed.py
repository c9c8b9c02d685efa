#!/usr/bin/python3
"""Celery's own receiver + State on a capture, timed: the baseline of bench/run.

Every message is decoded first (not timed); then event_from_message + State.event run over
all events, as a live monitor runs them. --max-tasks defaults to unbounded, so that Celery
keeps every task, as ActorMonitor does.
Prints: celery events=N seconds=S events_per_s=R
"""
import argparse
import json
import time

from celery import Celery
from celery.events.receiver import EventReceiver
from celery.events.state import State


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("capture")
    ap.add_argument("--max-tasks", type=int, default=10 ** 9)
    a = ap.parse_args()
    messages = []
    with open(a.capture) as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            body = json.loads(rec["body"])
            messages.append((rec["local_received"], body if isinstance(body, list) else [body]))

    app = Celery("bench", set_as_current=False)
    state = State(max_tasks_in_memory=a.max_tasks)
    receiver = EventReceiver(None, app=app, handlers={"*": state.event})
    n = 0
    start = time.perf_counter()
    for local_received, events in messages:
        for ev in events:
            typ, ev = receiver.event_from_message(ev, now=lambda: local_received)
            receiver.process(typ, ev)
            n += 1
    elapsed = time.perf_counter() - start
    print("celery events=%d seconds=%.3f events_per_s=%.0f" % (n, elapsed, n / elapsed))


if __name__ == "__main__":
    main()
