"""Executors carry run ids, never payloads: `local` threads here, or Celery workers via a broker."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

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


class CeleryExecutor:
    """Sends run ids to the broker for `hub worker` processes; never payloads, never waits for them."""

    def __init__(self, runtime: Runtime, app: Any = None) -> None:
        from hub.engine.celery_app import make_celery

        self.runtime = runtime
        self.app = app if app is not None else make_celery(runtime.settings)

    def submit(self, run_id: int) -> None:
        from hub.engine.celery_app import TASK_NAME

        try:
            self.app.send_task(TASK_NAME, args=[run_id], queue=self.runtime.settings.celery_queue)
        except Exception as exc:  # the run is stored: the sweeper sends it again after HUB_REDISPATCH_S
            log.warning("event=dispatch_failed run=%s error=%s", run_id, str(exc)[:200])

    def shutdown(self, wait: bool = True) -> None:
        self.app.close()


def make_executor(runtime: Runtime, *, execute_here: bool) -> Executor | None:
    """Celery sends to the workers from every process; `local` executes only where asked to."""
    if runtime.settings.executor == "celery":
        return CeleryExecutor(runtime)
    if execute_here:
        return LocalExecutor(runtime, runtime.settings.workers)
    return None
