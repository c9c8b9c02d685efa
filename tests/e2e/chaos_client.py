#!/usr/bin/python3
"""Sends e2e_tasks.add at a steady rate until SIGTERM, through broker outages: a task that cannot
be published is counted as failed (and its task-sent event never exists). Prints the counts."""
import signal
import sys
import time

from e2e_tasks import add

running = True


def stop(*_):
    global running
    running = False


def main():
    rate = float(sys.argv[1])
    signal.signal(signal.SIGTERM, stop)
    sent = failed = 0
    start = time.time()
    while running:
        due = int((time.time() - start) * rate)
        while sent + failed < due and running:
            try:
                add.apply_async((sent, failed), retry=False)
                sent += 1
            except Exception as exc:  # the broker is down: counted, not retried
                failed += 1
                if failed % 20 == 1:
                    print("client: publish failed (%s)" % exc, file=sys.stderr, flush=True)
                time.sleep(0.2)
        time.sleep(0.05)
    print("sent %d failed %d" % (sent, failed), flush=True)


if __name__ == "__main__":
    main()
