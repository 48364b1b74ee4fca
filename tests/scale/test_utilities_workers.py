"""The storage and assign utilities under `hub worker` processes (Celery) sharing PostgreSQL: turns
and counts stay exact when runs execute in several processes and threads at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.config import Settings
from hub.db.models import Run
from hub.engine.executor import CeleryExecutor
from hub.engine.intake import store_events
from hub.recipe_store import save_recipe
from hub.runtime import Runtime
from hub.sdk.types import TriggerEvent
from tests.e2e.harness import wait_until
from tests.scale.cluster import Cluster, relay_step
from tests.scale.conftest import drop_queue
from tests.scale.sinks import TimingSink

pytestmark = pytest.mark.timeout(180)
REPS = ["ann", "bob", "cy"]


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str, broker_url: str, queue_name: str) -> Iterator[Cluster]:
    nodes = Cluster(tmp_path / "home", pg_url, broker_url, queue_name, {"HUB_WORKERS": "4"})
    nodes.cli("init")
    yield nodes
    nodes.stop()
    drop_queue(broker_url, queue_name)


def test_two_workers_assign_leads_evenly_and_count_exactly(cluster: Cluster) -> None:
    rt = Runtime.create(Settings.from_env(cluster.env))
    rt.executor = CeleryExecutor(rt)
    sink = TimingSink()
    try:
        body = {
            "lead": "{{ event.n }}",
            "owner": "{{ steps.rep.assignee }}",
            "nth": "{{ steps.tally.value }}",
        }
        document = {
            "name": "leads",
            "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
            "steps": [
                {
                    "id": "rep",
                    "connector": "assign",
                    "action": "round_robin",
                    "input": {"rotation": "inbound", "members": REPS},
                },
                {"id": "tally", "connector": "storage", "action": "increment", "input": {"key": "leads"}},
                relay_step(sink.url, "/leads", body),
            ],
        }
        with rt.db.transaction() as session:
            recipe = save_recipe(session, rt, document, actor="test")
            stored = store_events(
                session,
                recipe_id=recipe.id,
                recipe_version=recipe.current_version,
                source="webhook",
                events=[TriggerEvent(id=f"lead-{n}", data={"n": n}) for n in range(60)],
            )
        run_ids = [s.run_id for s in stored if s.run_id]
        for worker in (cluster.start("worker"), cluster.start("worker")):
            cluster.wait_worker_ready(worker)
        rt.dispatch(run_ids)

        def finished() -> bool:
            with rt.db.read() as session:
                return Counter(session.scalars(select(Run.status).where(Run.id.in_(run_ids)))) == {
                    "succeeded": 60
                }

        wait_until(finished, timeout_s=120, what="60 runs")
        bodies = [arrival[2] for arrival in sink.arrivals]
        assert Counter(b["owner"] for b in bodies) == {rep: 20 for rep in REPS}
        assert sorted(b["nth"] for b in bodies) == list(range(1, 61))  # every run saw its own count
    finally:
        sink.close()
        rt.close()
