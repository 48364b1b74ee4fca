"""`hub worker` under HUB_EXECUTOR=celery against the real brokers and PostgreSQL: a run delivered
many times executes once, a worker killed mid-step leaves its run to another with the same
idempotency key, a connection's limits hold across worker processes, and the storage and assign
utilities keep exact counts and even turns across them."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.config import Settings
from hub.connections import create_connection
from hub.db.models import Run, StepAttempt, StepRun
from hub.engine.celery_app import TASK_NAME
from hub.engine.executor import CeleryExecutor
from hub.engine.intake import store_events
from hub.recipe_store import save_recipe
from hub.runtime import Runtime
from hub.sdk.types import TriggerEvent
from tests.conftest import make_settings
from tests.e2e.harness import wait_until
from tests.scale.cluster import Cluster, relay_step
from tests.scale.conftest import drop_queue
from tests.scale.sinks import TimingSink

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str, broker_url: str, queue_name: str) -> Iterator[Cluster]:
    nodes = Cluster(tmp_path / "home", pg_url, broker_url, queue_name, {"HUB_LEASE_S": "3"})
    nodes.cli("init")
    yield nodes
    nodes.stop()
    drop_queue(broker_url, queue_name)


@pytest.fixture
def rt(cluster: Cluster) -> Iterator[Runtime]:
    """The test's own process in the deployment, sending to the workers like `hub web` does."""
    runtime = Runtime.create(Settings.from_env(cluster.env))
    runtime.executor = CeleryExecutor(runtime)
    yield runtime
    runtime.close()


def _runs(rt: Runtime, sink: TimingSink, count: int, connection: str | None = None) -> list[int]:
    return _store(rt, [relay_step(sink.url, "/deals", {"deal": "{{ event.n }}"}, connection)], count)


def _store(rt: Runtime, steps: list[dict[str, Any]], count: int) -> list[int]:
    """A webhook recipe of `steps` and `count` events {"n": 0..count-1} with their queued runs."""
    document = {
        "name": "relay",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": steps,
    }
    with rt.db.transaction() as session:
        recipe = save_recipe(session, rt, document, actor="test")
        stored = store_events(
            session,
            recipe_id=recipe.id,
            recipe_version=recipe.current_version,
            source="webhook",
            events=[TriggerEvent(id=f"e-{n}", data={"n": n}) for n in range(count)],
        )
    return [s.run_id for s in stored if s.run_id]


def _statuses(rt: Runtime, run_ids: list[int]) -> Counter[str]:
    with rt.db.transaction() as session:
        return Counter(session.scalars(select(Run.status).where(Run.id.in_(run_ids))))


def test_a_run_delivered_many_times_to_many_workers_executes_once(cluster: Cluster, rt: Runtime) -> None:
    sink = TimingSink(delay_s=0.05)
    try:
        run_ids = _runs(rt, sink, 30)
        for worker in (cluster.start("worker"), cluster.start("worker")):
            cluster.wait_worker_ready(worker)
        for _ in range(3):  # three deliveries of every run id, racing over two worker processes
            rt.dispatch(run_ids)
        for run_id in run_ids:  # and raw duplicates straight onto the queue
            rt.executor.app.send_task(TASK_NAME, args=[run_id], queue=rt.settings.celery_queue)
        wait_until(lambda: _statuses(rt, run_ids) == {"succeeded": 30}, timeout_s=90, what="30 runs")
        keys = Counter(key for _, key, _ in sink.arrivals)
        assert len(keys) == 30 and set(keys.values()) == {1}  # each run called the vendor exactly once
        assert sorted(body["deal"] for _, _, body in sink.arrivals) == list(range(30))
        with rt.db.transaction() as session:
            attempts = session.scalars(
                select(StepAttempt.status).join(StepRun).where(StepRun.run_id.in_(run_ids))
            ).all()
        assert attempts == ["succeeded"] * 30
    finally:
        sink.close()


def test_a_worker_killed_mid_step_leaves_its_run_to_another(cluster: Cluster, rt: Runtime) -> None:
    sink = TimingSink(delay_s=2.0)
    try:
        (run_id,) = _runs(rt, sink, 1)
        doomed = cluster.start("worker")
        cluster.wait_worker_ready(doomed)
        rt.dispatch([run_id])
        wait_until(lambda: len(sink.arrivals) == 1, timeout_s=30, what="the first call to reach the vendor")
        cluster.kill(doomed)  # SIGKILL mid-call: no acknowledgement, no lease given back
        cluster.start("worker")
        cluster.start("scheduler")  # its sweeper finds the run once the dead worker's lease expires
        wait_until(lambda: _statuses(rt, [run_id]) == {"succeeded": 1}, timeout_s=60, what="run resumed")
        keys = [key for _, key, _ in sink.arrivals]
        assert len(keys) == 2 and keys[0] == keys[1] == f"{run_id}:deliver"  # same key on every attempt
        with rt.db.transaction() as session:
            attempts = session.execute(
                select(StepAttempt.status, StepAttempt.idempotency_key)
                .join(StepRun)
                .where(StepRun.run_id == run_id)
                .order_by(StepAttempt.number)
            ).all()
        assert [tuple(a) for a in attempts] == [("unknown", keys[0]), ("succeeded", keys[0])]
    finally:
        sink.close()


def test_connection_limits_hold_across_worker_processes(cluster: Cluster, rt: Runtime) -> None:
    sink = TimingSink(delay_s=0.3)
    try:
        with rt.db.transaction() as session:
            create_connection(
                session,
                rt.registry,
                rt.vault,
                name="vendor",
                connector_id="http",
                config={"auth_type": "none"},
                concurrency_limit=2,
                rate_limit=4.0,
            )
        run_ids = _runs(rt, sink, 24, connection="vendor")
        for worker in (cluster.start("worker"), cluster.start("worker")):
            cluster.wait_worker_ready(worker)
        cluster.start("scheduler")  # wakes the runs the limiter parked
        rt.dispatch(run_ids)
        wait_until(lambda: _statuses(rt, run_ids) == {"succeeded": 24}, timeout_s=120, what="24 runs")
        assert sink.max_in_flight <= 2  # 8 worker threads in 2 processes, never more than 2 calls at once
        assert sink.max_in_window(1.0) <= 5  # 4 per second (plus one for jitter at the sink)
        assert len({key for _, key, _ in sink.arrivals}) == 24
    finally:
        sink.close()


def test_a_run_whose_message_was_lost_is_sent_again_by_the_sweeper(cluster: Cluster, rt: Runtime) -> None:
    sink = TimingSink()
    try:
        (run_id,) = _runs(rt, sink, 1)  # stored, never sent: the web process died right after commit
        cluster.start("worker")
        cluster.start("scheduler", HUB_REDISPATCH_S="1")
        wait_until(lambda: _statuses(rt, [run_id]) == {"succeeded": 1}, timeout_s=60, what="run recovered")
        assert [key for _, key, _ in sink.arrivals] == [f"{run_id}:deliver"]
    finally:
        sink.close()


def test_a_broker_outage_does_not_fail_the_sender(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", executor="celery", broker_url="redis://127.0.0.1:1/0"
    )
    runtime = Runtime.create(settings)
    executor = CeleryExecutor(runtime)
    started = time.monotonic()
    executor.submit(1)  # logged as event=dispatch_failed; the stored run waits for the sweeper
    assert time.monotonic() - started < 5
    runtime.close()


def test_two_workers_assign_leads_evenly_and_count_exactly(cluster: Cluster, rt: Runtime) -> None:
    """assign.round_robin and storage.increment from 2 processes x 4 threads, on one rotation and key."""
    reps = ["ann", "bob", "cy"]
    sink = TimingSink()
    try:
        body = {
            "lead": "{{ event.n }}",
            "owner": "{{ steps.rep.assignee }}",
            "nth": "{{ steps.tally.value }}",
        }
        steps = [
            {
                "id": "rep",
                "connector": "assign",
                "action": "round_robin",
                "input": {"rotation": "inbound", "members": reps},
            },
            {"id": "tally", "connector": "storage", "action": "increment", "input": {"key": "leads"}},
            relay_step(sink.url, "/leads", body),
        ]
        run_ids = _store(rt, steps, 60)
        for worker in (cluster.start("worker"), cluster.start("worker")):
            cluster.wait_worker_ready(worker)
        rt.dispatch(run_ids)
        wait_until(lambda: _statuses(rt, run_ids) == {"succeeded": 60}, timeout_s=120, what="60 runs")
        bodies = [arrival[2] for arrival in sink.arrivals]
        assert Counter(b["owner"] for b in bodies) == {rep: 20 for rep in reps}
        assert sorted(b["nth"] for b in bodies) == list(range(1, 61))  # every run saw its own count
    finally:
        sink.close()
