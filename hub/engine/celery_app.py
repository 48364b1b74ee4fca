"""Celery for HUB_EXECUTOR=celery: a message carries a run id (or a spread branch's id) only; the
database decides who runs it.

Messages are acknowledged after the run reaches its next park point (acks_late) and given back when
a worker dies (reject_on_worker_lost), each worker thread reserves one message at a time
(prefetch 1), and Runner.execute claims the run by compare-and-set, so a message delivered twice
executes the run once. A run whose message is lost anyway is found by the scheduler's sweeper.
A parallel branch or for_each item spread as a task of its own (`hub.engine.run.spread`) is claimed
the same way, under its own sub-lease.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from celery import Celery, bootsteps

from hub.engine.run.branch_task import BranchRunner
from hub.engine.runner import Runner

if TYPE_CHECKING:
    from hub.config import Settings
    from hub.runtime import Runtime

TASK_NAME = "hub.execute_run"
BRANCH_TASK_NAME = "hub.execute_branch"


class _WakeEverySecond(bootsteps.StartStopStep):
    """Wakes the worker's event loop every second. Without a timer of its own the AMQP transport
    lets the loop sleep up to 10 s, and a warm shutdown (SIGTERM) would wait that long to begin."""

    requires = ("celery.worker.components:Hub",)

    def start(self, worker: Any) -> None:
        if getattr(worker, "hub", None) is not None:
            worker.hub.call_repeatedly(1.0, _noop)


def _noop() -> None:
    return None


def make_celery(settings: Settings) -> Celery:
    if not settings.broker_url:
        raise ValueError("HUB_EXECUTOR=celery needs HUB_BROKER_URL (redis://... or amqp://...)")
    app = Celery("hub", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=settings.celery_queue,
        task_create_missing_queues=True,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
        # A webhook answer must not hang on a broker outage: the run is stored already and the
        # sweeper dispatches it again after HUB_REDISPATCH_S.
        task_publish_retry=True,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        worker_enable_remote_control=False,
    )
    app.hub_runtime = None  # type: ignore[attr-defined]
    app.steps["worker"].add(_WakeEverySecond)

    @app.task(name=TASK_NAME, ignore_result=True)
    def execute_run(run_id: int) -> None:
        runtime: Runtime | None = app.hub_runtime  # type: ignore[attr-defined]
        if runtime is None:
            raise RuntimeError("this Celery app has no hub runtime: start workers with `hub worker`")
        Runner(runtime).execute(int(run_id))

    @app.task(name=BRANCH_TASK_NAME, ignore_result=True)
    def execute_branch(branch_id: int) -> None:
        runtime: Runtime | None = app.hub_runtime  # type: ignore[attr-defined]
        if runtime is None:
            raise RuntimeError("this Celery app has no hub runtime: start workers with `hub worker`")
        BranchRunner(runtime).execute(int(branch_id))

    return app


def run_worker(app: Celery, runtime: Runtime, *, concurrency: int, hostname: str | None = None) -> None:
    """Consume run messages in this process with `concurrency` threads until SIGTERM (warm shutdown)."""
    app.hub_runtime = runtime  # type: ignore[attr-defined]
    argv: list[Any] = [
        "worker",
        "--pool=threads",
        f"--concurrency={concurrency}",
        f"--queues={runtime.settings.celery_queue}",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    argv.append(f"--hostname={hostname or f'hub-{os.getpid()}@%h'}")  # unique per process on a host
    # Two log lines per run from Celery would drown the runner's own `event=` lines.
    for name in ("celery.app.trace", "celery.worker.strategy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    app.worker_main(argv=argv)
