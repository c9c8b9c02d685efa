"""Sends Celery tasks as an ordinary client would (not through the monitor); prints one task id a line.

    send_task.py NAME ARGS_JSON [OPTIONS_JSON]   OPTIONS: apply_async options (queue, countdown...) and count
"""
import json
import sys

from e2e_tasks import app

name, args = sys.argv[1], json.loads(sys.argv[2])
options = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
count = int(options.pop("count", 1))
with app.producer_or_acquire() as producer:
    for _ in range(count):
        print(app.send_task(name, args=args, producer=producer, **options).id, flush=True)
