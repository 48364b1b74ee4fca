"""Executors carry run ids, never payloads: `local` threads here, Celery behind the same interface."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol

from hub.engine.runner import Runner

if TYPE_CHECKING:
    from hub.runtime import Runtime

log = logging.getLogger("hub.executor")


class Executor(Protocol):
    def submit(self, run_id: int) -> None: ...

    def shutdown(self, wait: bool = True) -> None: ...


class InlineExecutor:
    """Runs each run to its next park point in the caller's thread (tests, CLI test runs)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def submit(self, run_id: int) -> None:
        Runner(self.runtime).execute(run_id)

    def shutdown(self, wait: bool = True) -> None:
        return None


class LocalExecutor:
    """A thread pool in this process; a run already queued here is not queued twice."""

    def __init__(self, runtime: Runtime, workers: int) -> None:
        self.runtime = runtime
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hub-run")
        self._pending: set[int] = set()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, run_id: int) -> None:
        with self._lock:
            if self._closed or run_id in self._pending:
                return
            self._pending.add(run_id)
        self._pool.submit(self._execute, run_id)

    def _execute(self, run_id: int) -> None:
        try:
            Runner(self.runtime).execute(run_id)
        except Exception:
            log.exception("event=executor_error run=%s", run_id)
        finally:
            with self._lock:
                self._pending.discard(run_id)

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
