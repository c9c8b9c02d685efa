#!/usr/bin/python3
"""The chaos run's ground truth: every message on the 'celeryev' exchange, in the capture format
that celery_reference.py reads, through broker restarts.

The queue is durable and never auto-deleted, so it and its binding outlive a restart of the
broker; the consumer reconnects until told to stop. A message is written (and flushed) before it
is acked; a redelivery of a message already written is skipped.
Usage: chaos_capture.py BROKER_URL QUEUE OUT.jsonl STOP_FILE
Prints "ready" once bound, then exits when STOP_FILE exists and nothing arrived for 3 s.
"""
import hashlib
import json
import os
import socket
import sys
import time

from kombu import Connection, Exchange, Queue

# The capture line is the oracle's own (tools/oracle/capture.py), so both write the same format.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "oracle"))
import capture  # noqa: E402


def main():
    url, queue_name, out_path, stop_file = sys.argv[1:5]
    exchange = Exchange("celeryev", type="topic", durable=True)
    queue = Queue(queue_name, exchange, routing_key="#", durable=True, auto_delete=False)
    seen = set()
    count = skipped = reconnects = 0
    last = time.time()
    ready = False
    with open(out_path, "w") as out:
        def on_message(message):
            nonlocal count, skipped, last
            raw = message.body
            digest = hashlib.sha1(raw if isinstance(raw, bytes) else raw.encode()).digest()
            if message.delivery_info.get("redelivered") and digest in seen:
                skipped += 1
                message.ack()
                return
            seen.add(digest)
            out.write(json.dumps(capture.record(message)) + "\n")
            out.flush()
            count += 1
            last = time.time()
            message.ack()

        while True:
            try:
                with Connection(url, connect_timeout=2) as conn:
                    conn.ensure_connection(max_retries=None, interval_start=0.5, interval_step=0.5, interval_max=1)
                    with conn.Consumer(queue, on_message=on_message, prefetch_count=500):
                        if not ready:
                            print("ready", flush=True)
                            ready = True
                        while True:
                            try:
                                conn.drain_events(timeout=0.5)
                            except socket.timeout:
                                pass
                            if os.path.exists(stop_file) and time.time() - last > 3:
                                print("captured %d messages, %d redeliveries skipped, %d reconnects"
                                      % (count, skipped, reconnects), file=sys.stderr)
                                return
            except Exception as exc:  # any connection or channel error: reconnect
                reconnects += 1
                print("capture: connection lost (%s); reconnecting" % exc, file=sys.stderr, flush=True)
                time.sleep(0.5)


if __name__ == "__main__":
    main()
