"""Flow steps under HUB_EXECUTOR=celery on PostgreSQL: parallel branches and for_each items run as
Celery tasks of their own, spread over two `hub worker` processes at once within the concurrency;
a parallel joins once its branch parked on a wait is resumed by the event; a cancel stops the
branches; a worker killed mid 200-item for_each, or while a parallel branch waits, leaves the rest
to another, every item once by key; one worker thread is enough, as the run never waits in a slot."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.config import Settings
from hub.db.models import Run, RunBranch, StepRun
from hub.engine import control
from hub.engine.executor import CeleryExecutor
from hub.engine.intake import resolve_waits, store_events
from hub.recipe_store import save_recipe
from hub.runtime import Runtime
from hub.sdk.types import TriggerEvent
from tests.e2e.flow_crash import (
    BRANCH_ITEMS,
    ITEMS,
    assert_each_item_once,
    item_step,
    loop_recipe,
    parallel_recipe,
)
from tests.e2e.harness import Sink, wait_until
from tests.scale.cluster import Cluster, Proc
from tests.scale.conftest import drop_queue
from tests.scale.sinks import TimingSink

SLOW_S = 0.6  # how long the stand-in takes to answer each call of the spread tests

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


def webhook_recipe(steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "name": "spread",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": steps,
        **extra,
    }


def post(step_id: str, url: str, body: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "connector": "http",
        "action": "request",
        "input": {"method": "POST", "url": url, "json": body},
    }


def two_workers(cluster: Cluster) -> list[Proc]:
    """Two `hub worker` processes of two threads each: four slots, so no one worker can take a
    fan-out of three or four at once by itself."""
    workers = [cluster.start("worker", HUB_WORKERS="2") for _ in range(2)]
    for worker in workers:
        cluster.wait_worker_ready(worker)
    return workers


def branch_rows(rt: Runtime, run_id: int, fanout: str) -> list[RunBranch]:
    with rt.db.transaction() as session:
        query = select(RunBranch).where(RunBranch.run_id == run_id, RunBranch.fanout == fanout)
        return list(session.scalars(query.order_by(RunBranch.label)))


def pids(rows: list[RunBranch]) -> set[int]:
    """The processes whose sub-lease ran each branch (owner is host:pid:nonce)."""
    return {int(str(row.lease_owner).split(":")[1]) for row in rows}


def most_at_once(arrivals: list[float], length_s: float) -> int:
    """How many calls, each `length_s` long from its arrival, were under way at once at most."""
    return max(sum(1 for other in arrivals if other <= t < other + length_s) for t in arrivals)


def test_branches_and_items_are_celery_tasks_spread_over_workers_at_once(
    cluster: Cluster, rt: Runtime
) -> None:
    workers = two_workers(cluster)
    slow = TimingSink(delay_s=SLOW_S)
    try:
        doc = webhook_recipe(
            [
                {
                    "id": "three",
                    "type": "parallel",
                    "branches": [[post(f"b{i}", f"{slow.url}/branch", {"branch": i})] for i in range(3)],
                },
                {
                    "id": "lines",
                    "type": "for_each",
                    "items": "{{ range(8) | list }}",
                    "concurrency": 4,
                    "steps": [post("post", f"{slow.url}/items", {"item": "{{ item }}"})],
                },
                post("joined", f"{slow.url}/joined", {"count": "{{ steps.lines.count }}"}),
            ]
        )
        run_id = start_run(rt, doc, {"order": "O-3"})
        wait_until(lambda: status(rt, run_id) == "succeeded", timeout_s=120, what="the run to finish")
        worker_pids = {worker.pid for worker in workers}
        three, lines = branch_rows(rt, run_id, "three"), branch_rows(rt, run_id, "lines")
        assert [row.status for row in three + lines] == ["done"] * 11
        assert pids(three) <= worker_pids and len(pids(three)) == 2  # a worker holds two at most
        assert pids(lines) <= worker_pids and len(pids(lines)) == 2
        with slow.lock:
            keys = [key for _at, key, _body in slow.arrivals]
            branch_at = [at for at, key, _body in slow.arrivals if key and ".b" in key]
            item_at = [at for at, key, _body in slow.arrivals if key and ".post" in key]
        assert sorted(keys) == sorted(
            [f"{run_id}:three.{i}.b{i}" for i in range(3)]
            + [f"{run_id}:lines.{i}.post" for i in range(8)]
            + [f"{run_id}:joined"]
        )
        assert most_at_once(branch_at, SLOW_S) == 3  # the three branches overlapped
        assert 2 <= most_at_once(item_at, SLOW_S) <= 4  # items overlapped, never more than 4 at once
        assert slow.max_in_flight <= 4
        serial = 8 * SLOW_S
        assert max(item_at) + SLOW_S - min(item_at) < 0.75 * serial  # wall time, not one after another
    finally:
        slow.close()


def test_a_parallel_joins_when_its_branch_parked_on_a_wait_is_resumed(
    cluster: Cluster, rt: Runtime, sink: Sink
) -> None:
    two_workers(cluster)
    approval = {
        "id": "approved",
        "type": "wait_for",
        "connector": "webhook",
        "trigger": "catch",
        "match": {"kind": "approval", "order": "{{ event.order }}"},
        "timeout_s": 600,
    }
    doc = webhook_recipe(
        [
            {
                "id": "both",
                "type": "parallel",
                "branches": [
                    [approval, post("confirm", f"{sink.url}/confirm", {"by": "{{ steps.approved.by }}"})],
                    [post("a", f"{sink.url}/a", {"n": 1})],
                    [post("b", f"{sink.url}/b", {"n": 2})],
                ],
            },
            post("joined", f"{sink.url}/joined", {"ok": True}),
        ],
        filter="{{ event.kind == 'order' }}",
    )
    run_id = start_run(rt, doc, {"kind": "order", "order": "O-4"})
    wait_until(lambda: status(rt, run_id) == "waiting", timeout_s=60, what="the run to park on the wait")
    assert [row.status for row in branch_rows(rt, run_id, "both")] == ["parked", "done", "done"]
    assert posted(sink, "/a") == posted(sink, "/b") == 1
    assert posted(sink, "/confirm") == posted(sink, "/joined") == 0
    with rt.db.transaction() as session:  # the approval arrives, as intake takes it from a webhook
        woken = resolve_waits(
            session, "webhook", "catch", None, {"kind": "approval", "order": "O-4", "by": "ops-lead"}
        )
    assert woken == [run_id]
    rt.dispatch(woken)
    wait_until(lambda: status(rt, run_id) == "succeeded", timeout_s=60, what="the run to finish")
    assert [row.status for row in branch_rows(rt, run_id, "both")] == ["done"] * 3
    with sink.lock:
        assert sink.by_key[f"{run_id}:both.0.confirm"] == {"by": "ops-lead"}
    assert posted(sink, "/confirm") == posted(sink, "/joined") == 1
    assert posted(sink, "/a") == posted(sink, "/b") == 1  # the done branches were not run again


def test_a_cancel_stops_the_spread_items(cluster: Cluster, rt: Runtime) -> None:
    two_workers(cluster)
    slow = Sink(delay_s=SLOW_S)
    try:
        doc = webhook_recipe(
            [
                {
                    "id": "lines",
                    "type": "for_each",
                    "items": "{{ range(16) | list }}",
                    "concurrency": 4,
                    "steps": [post("post", f"{slow.url}/items", {"item": "{{ item }}"})],
                }
            ]
        )
        run_id = start_run(rt, doc, {"order": "O-5"})
        wait_until(lambda: posted(slow, "/items") >= 4, timeout_s=60, what="four items posted")
        with rt.db.transaction() as session:
            control.cancel(session, run_id)
        at_cancel = posted(slow, "/items")

        def settled() -> bool:
            return not any(row.status in ("queued", "running") for row in branch_rows(rt, run_id, "lines"))

        wait_until(settled, timeout_s=30, what="no branch in flight")
        time.sleep(2 * SLOW_S)
        assert status(rt, run_id) == "cancelled"
        assert posted(slow, "/items") <= at_cancel + 4  # at most the calls under way at the cancel
        assert {row.status for row in branch_rows(rt, run_id, "lines")} <= {"done", "cancelled"}
        with rt.db.transaction() as session:
            done = list(
                session.scalars(
                    select(StepRun.path).where(StepRun.run_id == run_id, StepRun.status == "succeeded")
                )
            )
        assert len(done) <= at_cancel  # a call that ended after the cancel wrote nothing
    finally:
        slow.close()


def test_a_worker_killed_mid_item_leaves_its_items_to_the_other(
    cluster: Cluster, rt: Runtime, sink: Sink
) -> None:
    doomed, survivor = two_workers(cluster)
    cluster.start("scheduler")  # its sweeper sends again the items whose sub-lease lapsed
    run_id = start_run(rt, loop_recipe(sink.url), {"order": "O-6"})

    def held_by_doomed() -> bool:
        return any(
            row.status == "running" and doomed.pid in pids([row]) for row in branch_rows(rt, run_id, "lines")
        )

    wait_until(
        lambda: posted(sink, "/items") >= 40 and held_by_doomed(), timeout_s=60, what="items under way"
    )
    cluster.kill(doomed)
    assert posted(sink, "/items") < ITEMS
    wait_until(lambda: status(rt, run_id) == "succeeded", timeout_s=150, what="the run to finish")
    assert_each_item_once(sink, run_id, "lines", ITEMS)
    rows = branch_rows(rt, run_id, "lines")
    assert {row.status for row in rows} == {"done"}
    assert pids(rows) == {doomed.pid, survivor.pid}


def test_one_worker_thread_is_enough_for_nested_fan_outs(cluster: Cluster, rt: Runtime, sink: Sink) -> None:
    """The holder never waits for its branches in a worker slot: one thread runs them all in turn."""
    lonely = cluster.start("worker", HUB_WORKERS="1")
    cluster.wait_worker_ready(lonely)
    inner = {
        "id": "lines",
        "type": "for_each",
        "items": "{{ range(3) | list }}",
        "concurrency": 3,
        "steps": [item_step(sink.url)],
    }
    doc = webhook_recipe(
        [
            {"id": "both", "type": "parallel", "branches": [[inner], [post("a", f"{sink.url}/a", {"n": 1})]]},
            {
                "id": "outer",
                "type": "for_each",
                "items": "{{ range(4) | list }}",
                "concurrency": 4,
                "steps": [post("each", f"{sink.url}/each", {"n": "{{ item }}"})],
            },
        ]
    )
    run_id = start_run(rt, doc, {"order": "O-7"})
    wait_until(lambda: status(rt, run_id) == "succeeded", timeout_s=60, what="the run to finish")
    assert posted(sink, "/items") == 3 and posted(sink, "/a") == 1 and posted(sink, "/each") == 4
    assert pids(branch_rows(rt, run_id, "both") + branch_rows(rt, run_id, "outer")) == {lonely.pid}
