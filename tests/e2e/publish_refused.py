#!/usr/bin/python3
"""Publishes event messages that a monitor must refuse unread: a pickle that creates MARKER when
unpickled, a YAML document that creates MARKER.yaml when loaded unsafely, a body under an unknown
content type, then one plain JSON heartbeat (hostname after@refused) to show the stream goes on.

Usage: publish_refused.py BROKER_URL MARKER_PATH
Checks first that the pickle is real: unpickling a twin of it here creates MARKER.control.
"""
import json
import os
import pickle
import sys
import time

from kombu import Connection, Exchange, Producer


class Touch:
    """Unpickling it opens (so creates) a file: what any code run by a pickle could do."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def main():
    url, marker = sys.argv[1], sys.argv[2]
    control = marker + ".control"
    pickle.loads(pickle.dumps(Touch(control))).close()
    if not os.path.exists(control):
        raise SystemExit("the pickle payload does not work: nothing would be shown")
    os.remove(control)

    now = time.time()
    heartbeat = {"type": "worker-heartbeat", "hostname": "evil@refused", "timestamp": now, "freq": 2.0}
    messages = [
        ("application/x-python-serialize", "binary", pickle.dumps([dict(heartbeat, payload=Touch(marker))])),
        ("application/x-yaml", "utf-8", ('- !!python/object/apply:os.system ["touch %s.yaml"]\n' % marker).encode()),
        ("application/x-bson", "binary", json.dumps(heartbeat).encode()),
        ("application/json", "utf-8", json.dumps(dict(heartbeat, hostname="after@refused")).encode()),
    ]
    with Connection(url) as conn:
        producer = Producer(conn.channel(), exchange=Exchange("celeryev", type="topic"))
        for content_type, encoding, body in messages:
            producer.publish(body, routing_key="worker.heartbeat", content_type=content_type,
                             content_encoding=encoding, delivery_mode=1)
    print(len(messages), flush=True)


if __name__ == "__main__":
    main()
