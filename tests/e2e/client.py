#!/usr/bin/python3
"""Sends the end-to-end task mix: successes, failures, retries, revokes, countdowns, expiries,
chains, groups and custom task-* events. Prints the number of task messages it sent."""
import datetime
import uuid

from celery import chain, group

from e2e_tasks import add, app, fail, progress, rejecting, retrying, slow

WORKERS = ["w1@e2e", "w2@e2e"]


def main():
    sent = []
    for i in range(5):
        sent.append(add.delay(i, i))
    sent.append(fail.delay("x"))
    sent.append(retrying.delay(7))
    sent.append(progress.delay(3))
    sent.append(rejecting.delay())
    sent.append(add.apply_async((2, 3), countdown=1))
    # expired before a worker can run it: the worker announces it revoked (expired=True)
    sent.append(add.apply_async((4, 4), expires=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)))
    # revoked by id before it arrives: discarded on receipt with a task-revoked
    revoked_id = "revoke-me-" + uuid.uuid4().hex[:8]
    # The revoke is a broadcast on another queue than the task, so a worker could take the task
    # first; wait until both workers confirm they hold the id as revoked.
    confirmed = set()
    for _ in range(20):
        replies = app.control.revoke(revoked_id, reply=True, timeout=1.0, destination=WORKERS)
        confirmed.update(name for reply in replies for name in reply)
        if confirmed >= set(WORKERS):
            break
    else:
        raise SystemExit("workers did not confirm the revoke: %r" % sorted(confirmed))
    sent.append(add.apply_async((5, 5), task_id=revoked_id))
    sent.append(chain(add.s(1, 2), add.s(3), add.s(4)).apply_async())
    sent.append(group(add.s(i, 10) for i in range(3)).apply_async())
    sent.append(slow.delay(0.2))
    print(len(sent), flush=True)


if __name__ == "__main__":
    main()
