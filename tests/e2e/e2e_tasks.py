"""Celery tasks for ActorMonitor's end-to-end tests (run by real workers: celery -A e2e_tasks worker -E)."""
import os
import time

from celery import Celery
from celery.exceptions import Reject

app = Celery("e2e_tasks", broker=os.environ.get("E2E_BROKER", "amqp://guest:guest@127.0.0.1:5672//"))
app.conf.update(
    task_send_sent_event=True,      # clients publish task-sent
    worker_send_task_events=True,
    task_default_queue="e2e.tasks",
    broker_connection_retry_on_startup=True,
    # kombu's serializer for events (json or msgpack; msgpack needs Debian's python3-msgpack).
    event_serializer=os.environ.get("E2E_EVENT_SERIALIZER", "json"),
)


@app.task
def add(x, y):
    return x + y


@app.task
def fail(x):
    raise ValueError("boom %r" % (x,))


@app.task(bind=True, max_retries=2)
def retrying(self, x):
    if self.request.retries < 2:
        raise self.retry(exc=KeyError("again"), countdown=0.1)
    return x


@app.task(bind=True)
def progress(self, steps):
    for i in range(steps):
        self.send_event("task-progress", current=i + 1, total=steps)
    return steps


@app.task(bind=True, acks_late=True)
def rejecting(self):
    raise Reject("no thanks", requeue=False)


@app.task
def slow(seconds):
    time.sleep(seconds)
    return seconds


# -- For the remote-control tests (ControlTests.cs).

@app.task
def sleeper(seconds, pidfile=None):
    """Sleeps; writes the pool process's pid to pidfile first, so a test can tell which process ran it."""
    if pidfile:
        with open(pidfile + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.replace(pidfile + ".tmp", pidfile)
    time.sleep(seconds)
    return seconds


@app.task
def ticker(n):
    return n


@app.task
def echo(x):
    return x
