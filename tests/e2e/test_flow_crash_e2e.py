"""`hub serve` killed with SIGKILL in the middle of flow steps, on SQLite and PostgreSQL: a 200-item
for_each (four at a time) and a parallel whose one branch is parked on a wait. After a restart every
item's effect happened once by idempotency key and the run finished."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import _pg_schema_url
from tests.e2e.flow_crash import BRANCH_ITEMS, ITEMS, assert_each_item_once, loop_recipe, parallel_recipe
from tests.e2e.harness import HubProcess, Sink, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
    else:
        yield from _pg_schema_url()


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink(delay_s=0.03)  # calls are in flight when the hub dies
    yield server
    server.close()


def only_run(hub: HubProcess, headers: dict[str, str]) -> dict[str, Any]:
    """The run of the order (an approval event starts a run of its own, filtered at once)."""
    found = requests.get(f"{hub.url}/api/v1/runs", headers=headers, timeout=10).json()["runs"]
    run = min(found, key=lambda r: r["id"])
    detail: dict[str, Any] = requests.get(
        f"{hub.url}/api/v1/runs/{run['id']}", headers=headers, timeout=10
    ).json()
    return detail


def posted(sink: Sink, path: str) -> int:
    with sink.lock:
        return sum(1 for r in sink.requests if r["path"] == path)


def start(
    tmp_path: Path, database: str | None, document: dict[str, Any]
) -> tuple[HubProcess, dict[str, str], str]:
    hub = HubProcess(tmp_path / "home", database)
    hub.start()
    headers = hub.admin_headers()
    created = requests.post(f"{hub.url}/api/v1/recipes", json=document, headers=headers, timeout=30)
    assert created.status_code == 201, created.text
    return hub, headers, created.json()["webhook_url"]


def test_a_hub_killed_mid_loop_resumes_without_repeating_an_item(
    tmp_path: Path, database: str | None, sink: Sink
) -> None:
    hub, headers, hook = start(tmp_path, database, loop_recipe(sink.url))
    try:
        assert requests.post(hook, json={"order": "O-1"}, timeout=10).status_code == 202
        wait_until(lambda: posted(sink, "/items") >= 40, timeout_s=60, what="40 items posted")
        hub.kill()
        done_before = posted(sink, "/items")
        assert done_before < ITEMS
        hub.start()  # the run's lease lapses; the sweeper hands it to this hub
        wait_until(
            lambda: only_run(hub, headers)["status"] == "succeeded", timeout_s=120, what="run to finish"
        )
        run = only_run(hub, headers)
        assert_each_item_once(sink, run["id"], "lines", ITEMS)
        lines = next(s for s in run["steps"] if s["path"] == "lines")
        assert lines["output"]["count"] == ITEMS and lines["output"]["failed"] == 0
    finally:
        hub.stop()


def test_a_hub_killed_while_a_branch_waits_resumes_both_branches(
    tmp_path: Path, database: str | None, sink: Sink
) -> None:
    hub, headers, hook = start(tmp_path, database, parallel_recipe(sink.url))
    try:
        assert requests.post(hook, json={"kind": "order", "order": "O-2"}, timeout=10).status_code == 202
        wait_until(lambda: posted(sink, "/items") >= 20, timeout_s=60, what="20 items posted")
        steps = {s["path"]: s for s in only_run(hub, headers)["steps"]}
        assert steps["both.0.approved"]["status"] == "waiting"
        hub.kill()
        hub.start()
        wait_until(
            lambda: only_run(hub, headers)["status"] == "waiting",
            timeout_s=120,
            what="the loop branch to end",
        )
        assert posted(sink, "/confirm") == 0 and posted(sink, "/joined") == 0
        approval = {"kind": "approval", "order": "O-2", "by": "ops-lead"}
        assert requests.post(hook, json=approval, timeout=10).status_code == 202
        wait_until(
            lambda: only_run(hub, headers)["status"] == "succeeded", timeout_s=60, what="run to finish"
        )
        run = only_run(hub, headers)
        assert_each_item_once(sink, run["id"], "both.1.lines", BRANCH_ITEMS)
        with sink.lock:
            assert sink.by_key[f"{run['id']}:both.0.confirm"] == {"by": "ops-lead"}
            assert sink.by_key[f"{run['id']}:joined"] == {"count": BRANCH_ITEMS}
        assert posted(sink, "/joined") == 1
    finally:
        hub.stop()
