"""Executors carry run ids, never payloads: `local` threads here, or Celery workers via a broker."""

from __future__ import annotations

import logging
import queue
import threading
import time
from array import array
from typing import TYPE_CHECKING, Any, Protocol

from hub.engine.pacing import AckPacer
from hub.engine.run.fresh import FreshRun
from hub.engine.runner import Runner

if TYPE_CHECKING:
    from hub.runtime import Runtime

log = logging.getLogger("hub.executor")


class Executor(Protocol):
    def submit(self, run_id: int, fresh: FreshRun | None = None) -> None: ...

    def make_room(self) -> float: ...

    def shutdown(self, wait: bool = True) -> None: ...


class InlineExecutor:
    """Runs each run to its next park point in the caller's thread (tests, CLI test runs)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def submit(self, run_id: int, fresh: FreshRun | None = None) -> None:
        Runner(self.runtime).execute(run_id, fresh)

    def make_room(self) -> float:
        return 0.0  # the run has already executed

    def shutdown(self, wait: bool = True) -> None:
        return None


class LocalExecutor:
    """Worker threads in this process taking run ids from a queue; a run already queued here is not
    queued twice. The queue holds plain ints: a backlog of thousands of runs under a burst costs a
    few bytes each and gives the garbage collector nothing to scan (futures would, at every pass).
    Runs this process just stored come with their rows and events (hub/engine/run/fresh.py) while
    at most FRESH_HELD are held and their bodies stay under FRESH_BYTES: parsed, an event and its row
    take some 4 KB of objects, so a deep backlog is read back from the database rather than kept."""

    STOP = -1
    # Runs queued here at most. Past it a run's id waits in OVERFLOW, 8 bytes each, and joins the
    # queue as the queue drains: under a burst deeper than the queue each process keeps executing its
    # own backlog at full speed (the leader's sweeper alone dispatched 500 runs every 2 s, and a
    # 60 s burst at 32 connections took two minutes to drain). Past both a run stays stored and the
    # sweeper dispatches it once it is older than HUB_REDISPATCH_S, so a load above what this process
    # can execute grows the database, not this process's memory.
    BACKLOG = 10_000
    OVERFLOW = 250_000
    # Half a second of one process's work: handing over saves a read where the queue is shallow; in
    # a deeper backlog a run waits seconds anyway, and holding 1,000 cost 6 MiB more at 32 connections.
    FRESH_HELD = 256
    FRESH_BYTES = 4 * 2**20

    def __init__(
        self, runtime: Runtime, workers: int, *, ack_ahead_s: float = 0.0, ack_hold_s: float = 0.0
    ) -> None:
        self.runtime = runtime
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._pending: set[int] = set()
        self._overflow = array("q")  # run ids past BACKLOG, oldest first from _overflow_at
        self._overflow_at = 0
        self._fresh: dict[int, FreshRun] = {}
        self._fresh_bytes = 0
        self._lock = threading.Lock()
        self._closed = False
        # Webhook answers wait for room (hub/engine/pacing.py); 0 s ahead answers at once.
        self.pacer = AckPacer(
            self.backlog, threads=workers, ahead_s=ack_ahead_s, hold_s=ack_hold_s, floor=2 * workers
        )
        self._threads = [
            threading.Thread(target=self._work, name=f"hub-run_{index}", daemon=True)
            for index in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, run_id: int, fresh: FreshRun | None = None) -> None:
        with self._lock:
            if self._closed or run_id in self._pending:
                return
            if len(self._pending) >= self.BACKLOG:
                if len(self._overflow) - self._overflow_at < self.OVERFLOW:
                    self._overflow.append(run_id)  # its row and event are read back when it runs
                return
            self._pending.add(run_id)
            if (
                fresh is not None
                and len(self._fresh) < self.FRESH_HELD
                and self._fresh_bytes + fresh.size <= self.FRESH_BYTES
            ):
                self._fresh[run_id] = fresh
                self._fresh_bytes += fresh.size
        self._queue.put(run_id)

    def backlog(self) -> int:
        """Runs queued or running here, and those past the queue (read unlocked: an estimate)."""
        return len(self._pending) + len(self._overflow) - self._overflow_at

    def make_room(self) -> float:
        """Hold a webhook's answer while too many runs are queued here (AckPacer); seconds held."""
        return self.pacer.make_room()

    def _take_fresh(self, run_id: int) -> FreshRun | None:
        with self._lock:
            fresh = self._fresh.pop(run_id, None)
            if fresh is not None:
                self._fresh_bytes -= fresh.size
            return fresh

    def _work(self) -> None:
        while (run_id := self._queue.get()) != self.STOP:
            fresh = self._take_fresh(run_id)
            if self._closed:  # queued runs stay in the database for the sweeper of the next start
                continue
            started = time.monotonic()
            try:
                Runner(self.runtime).execute(run_id, fresh)
            except Exception:
                log.exception("event=executor_error run=%s", run_id)
            finally:
                with self._lock:
                    self._pending.discard(run_id)
                    queued = self._from_overflow()
                if queued is not None:
                    self._queue.put(queued)
                self.pacer.ran(time.monotonic() - started)

    def _from_overflow(self) -> int | None:
        """The oldest run id waiting past the backlog, now queued (under the lock); None if none."""
        while not self._closed and self._overflow_at < len(self._overflow):
            run_id = self._overflow[self._overflow_at]
            self._overflow_at += 1
            if self._overflow_at == len(self._overflow) or self._overflow_at >= 4096:
                del self._overflow[: self._overflow_at]  # give the taken ids' space back now and then
                self._overflow_at = 0
            if run_id not in self._pending:  # the sweeper may have sent it meanwhile
                self._pending.add(run_id)
                return run_id
        return None

    def shutdown(self, wait: bool = True, timeout_s: float = 30.0) -> None:
        """Stop taking runs; with `wait`, give the ones in progress up to `timeout_s` to finish
        (one cut short is taken up again once its lease expires)."""
        with self._lock:
            self._closed = True
        self.pacer.close()
        for _thread in self._threads:
            self._queue.put(self.STOP)
        if wait:
            deadline = time.monotonic() + timeout_s
            for thread in self._threads:
                thread.join(max(0.0, deadline - time.monotonic()))


class CeleryExecutor:
    """Sends run ids to the broker for `hub worker` processes; never payloads, never waits for them.
    A run's parallel branches and for_each items are sent as tasks of their own (`spreads`)."""

    spreads = True

    def __init__(self, runtime: Runtime, app: Any = None) -> None:
        from hub.engine.celery_app import make_celery

        self.runtime = runtime
        self.app = app if app is not None else make_celery(runtime.settings)

    def submit(self, run_id: int, fresh: FreshRun | None = None) -> None:
        """Sends the id only: a worker elsewhere reads the run (`fresh` is for this process's threads)."""
        from hub.engine.celery_app import TASK_NAME

        try:
            self.app.send_task(TASK_NAME, args=[run_id], queue=self.runtime.settings.celery_queue)
        except Exception as exc:  # the run is stored: the sweeper sends it again after HUB_REDISPATCH_S
            log.warning("event=dispatch_failed run=%s error=%s", run_id, str(exc)[:200])

    def make_room(self) -> float:
        return 0.0  # the backlog is the broker's, shared by every worker: not paced here

    def submit_branch(self, branch_id: int) -> None:
        from hub.engine.celery_app import BRANCH_TASK_NAME

        try:
            self.app.send_task(BRANCH_TASK_NAME, args=[branch_id], queue=self.runtime.settings.celery_queue)
        except Exception as exc:  # the branch is stored: the sweeper sends it again
            log.warning("event=dispatch_failed branch=%s error=%s", branch_id, str(exc)[:200])

    def shutdown(self, wait: bool = True) -> None:
        self.app.close()


def make_executor(runtime: Runtime, *, execute_here: bool) -> Executor | None:
    """Celery sends to the workers from every process; `local` executes only where asked to."""
    if runtime.settings.executor == "celery":
        return CeleryExecutor(runtime)
    if execute_here:
        settings = runtime.settings
        return LocalExecutor(
            runtime, settings.workers, ack_ahead_s=settings.ack_ahead_s, ack_hold_s=settings.ack_hold_s
        )
    return None
