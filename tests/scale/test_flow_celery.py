"""Flow steps under HUB_EXECUTOR=celery on PostgreSQL: a `hub worker` killed mid 200-item for_each
and while a parallel branch waits; another worker finishes each run, every item once by key."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.config import Settings
from hub.db.models import Run, StepRun
from hub.engine.executor import CeleryExecutor
from hub.engine.intake import resolve_waits, store_events
from hub.recipe_store import save_recipe
from hub.runtime import Runtime
from hub.sdk.types import TriggerEvent
from tests.e2e.flow_crash import BRANCH_ITEMS, ITEMS, assert_each_item_once, loop_recipe, parallel_recipe
from tests.e2e.harness import Sink, wait_until
from tests.scale.cluster import Cluster
from tests.scale.conftest import drop_queue

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str, broker_url: str, queue_name: str) -> Iterator[Cluster]:
    nodes = Cluster(tmp_path / "home", pg_url, broker_url, queue_name, {"HUB_LEASE_S": "3"})
    nodes.cli("init")
    yield nodes
    nodes.stop()
    drop_queue(broker_url, queue_name)


@pytest.fixture
def rt(cluster: Cluster) -> Iterator[Runtime]:
    runtime = Runtime.create(Settings.from_env(cluster.env))
    runtime.executor = CeleryExecutor(runtime)
    yield runtime
    runtime.close()


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink(delay_s=0.03)
    yield server
    server.close()


def start_run(rt: Runtime, document: dict[str, Any], event: dict[str, Any]) -> int:
    with rt.db.transaction() as session:
        recipe = save_recipe(session, rt, document, actor="test")
        [stored] = store_events(
            session,
            recipe_id=recipe.id,
            recipe_version=recipe.current_version,
            source="webhook",
            events=[TriggerEvent(data=event)],
        )
    assert stored.run_id is not None
    rt.dispatch([stored.run_id])
    return stored.run_id


def status(rt: Runtime, run_id: int) -> str:
    with rt.db.transaction() as session:
        return str(session.scalar(select(Run.status).where(Run.id == run_id)))


def posted(sink: Sink, path: str) -> int:
    with sink.lock:
        return sum(1 for r in sink.requests if r["path"] == path)


def test_a_worker_killed_mid_loop_leaves_the_rest_to_another(
    cluster: Cluster, rt: Runtime, sink: Sink
) -> None:
    doomed = cluster.start("worker")
    cluster.wait_worker_ready(doomed)
    run_id = start_run(rt, loop_recipe(sink.url), {"order": "O-1"})
    wait_until(lambda: posted(sink, "/items") >= 40, timeout_s=60, what="40 items posted")
    cluster.kill(doomed)
    assert posted(sink, "/items") < ITEMS
    cluster.start("worker")
    cluster.start("scheduler")  # its sweeper sends the run again once the dead worker's lease lapses
    wait_until(lambda: status(rt, run_id) == "succeeded", timeout_s=120, what="the run to finish")
    assert_each_item_once(sink, run_id, "lines", ITEMS)


def test_a_worker_killed_while_a_branch_waits_resumes_both(cluster: Cluster, rt: Runtime, sink: Sink) -> None:
    doomed = cluster.start("worker")
    cluster.wait_worker_ready(doomed)
    run_id = start_run(rt, parallel_recipe(sink.url), {"kind": "order", "order": "O-2"})
    wait_until(lambda: posted(sink, "/items") >= 20, timeout_s=60, what="20 items posted")
    cluster.kill(doomed)
    cluster.start("worker")
    cluster.start("scheduler")
    wait_until(lambda: status(rt, run_id) == "waiting", timeout_s=120, what="the loop branch to end")
    with rt.db.transaction() as session:  # the approval arrives, as intake takes it from a webhook
        woken = resolve_waits(
            session, "webhook", "catch", None, {"kind": "approval", "order": "O-2", "by": "x"}
        )
    assert woken == [run_id]
    rt.dispatch(woken)
    wait_until(lambda: status(rt, run_id) == "succeeded", timeout_s=60, what="the run to finish")
    assert_each_item_once(sink, run_id, "both.1.lines", BRANCH_ITEMS)
    assert posted(sink, "/confirm") == 1 and posted(sink, "/joined") == 1
    with rt.db.transaction() as session:
        statuses = Counter(session.scalars(select(StepRun.status).where(StepRun.run_id == run_id)))
    assert statuses == {"succeeded": 1 + 2 + 1 + BRANCH_ITEMS + 1}  # both, its branches, lines, items, joined
