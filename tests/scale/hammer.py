"""A child process that calls a local sink as fast as a shared DatabaseLimiter lets it.

python -m tests.scale.hammer DATABASE_URL SINK_URL CONNECTION_ID CONCURRENCY RATE SECONDS THREADS
(CONCURRENCY or RATE may be "-" for no limit)
"""

from __future__ import annotations

import sys
import threading
import time

import requests

from hub.db.session import Database
from hub.engine.cluster_limits import DatabaseLimiter
from hub.runtime import process_id


def main(argv: list[str]) -> None:
    url, sink, connection, concurrency, rate, seconds, threads = argv
    db = Database(url)
    limiter = DatabaseLimiter(db, process_id(), slot_lease_s=30)
    conc = None if concurrency == "-" else int(concurrency)
    per_s = None if rate == "-" else float(rate)
    deadline = time.monotonic() + float(seconds)

    def loop() -> None:
        session = requests.Session()
        while time.monotonic() < deadline:
            asked = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process on this machine
            wait = limiter.try_acquire(int(connection), conc, per_s)
            if wait > 0:
                time.sleep(min(wait, 0.05))  # poll eagerly: the point is to press on the limit
                continue
            try:
                granted = time.monotonic()  # the slot was taken in the database between the two
                session.post(sink, json={"asked": asked, "granted": granted}, timeout=10)
            finally:
                limiter.release(int(connection))

    workers = [threading.Thread(target=loop) for _ in range(int(threads))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    db.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
