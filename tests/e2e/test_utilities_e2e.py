"""The storage and assign utilities in a real `hub serve`: CRM lead routing and change detection.

The hub runs as a user starts it (its own process and in-process workers, on SQLite or PostgreSQL);
the CRM's notices go to a recording sink on 127.0.0.1 through the ordinary `http.request` action.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.harness import HubProcess, Sink, wait_until

pytestmark = pytest.mark.e2e
REPS = ["ann@example.com", "bob@example.com", "cy@example.com"]


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.close()


@pytest.fixture
def hub(tmp_path: Path, database_url: str) -> Iterator[HubProcess]:
    """On SQLite, and on PostgreSQL with HUB_TEST_DATABASE_URL (where the hub's worker threads write
    in parallel, so only the database statements keep the turns apart)."""
    process = HubProcess(tmp_path / "home", database_url)
    process.start()
    yield process
    process.stop()


def create(hub: HubProcess, headers: dict[str, str], recipe: dict[str, Any]) -> dict[str, Any]:
    answer = requests.post(f"{hub.url}/api/v1/recipes", json=recipe, headers=headers, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()


def statuses(hub: HubProcess, headers: dict[str, str], recipe_id: int) -> list[str]:
    params = {"limit": 200, "recipe_id": recipe_id}
    found = requests.get(f"{hub.url}/api/v1/runs", headers=headers, params=params, timeout=10).json()
    return [run["status"] for run in found["runs"]]


def lead_router(sink_url: str) -> dict[str, Any]:
    return {
        "name": "New lead -> next rep",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {"id_field": "lead.id"}},
        "steps": [
            {
                "id": "rep",
                "connector": "assign",
                "action": "round_robin",
                "input": {"rotation": "inbound-leads", "members": REPS},
            },
            {
                "id": "crm",
                "connector": "http",
                "action": "request",
                "input": {
                    "method": "POST",
                    "url": f"{sink_url}/leads/assign",
                    "json": {"lead": "{{ event.lead.id }}", "owner": "{{ steps.rep.assignee }}"},
                },
            },
        ],
    }


def status_watch(sink_url: str) -> dict[str, Any]:
    key = "deal:{{ event.deal.id }}:status"
    return {
        "name": "Deal status changed -> notify",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [
            {"id": "seen", "connector": "storage", "action": "get", "input": {"key": key}},
            {
                "id": "record",
                "connector": "storage",
                "action": "compare_and_set",
                "input": {
                    "key": key,
                    "expected": "{{ steps.seen.value }}",
                    "value": "{{ event.deal.status }}",
                },
            },
            {
                "id": "notify",
                "connector": "http",
                "action": "request",
                "when": "{{ steps.record.swapped and steps.record.previous != event.deal.status }}",
                "input": {
                    "method": "POST",
                    "url": f"{sink_url}/notices",
                    "json": {
                        "deal": "{{ event.deal.id }}",
                        "from": "{{ steps.record.previous }}",
                        "to": "{{ event.deal.status }}",
                    },
                },
            },
        ],
    }


def test_thirty_concurrent_leads_go_ten_to_each_of_three_reps(hub: HubProcess, sink: Sink) -> None:
    headers = hub.admin_headers()
    recipe = create(hub, headers, lead_router(sink.url))

    def deliver(n: int) -> int:
        lead = {"lead": {"id": f"L-{n}", "company": f"Company {n}"}}
        return requests.post(recipe["webhook_url"], json=lead, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert list(pool.map(deliver, range(30))) == [202] * 30
    wait_until(
        lambda: statuses(hub, headers, recipe["id"]) == ["succeeded"] * 30, timeout_s=90, what="30 runs"
    )
    owners = Counter(request["body"]["owner"] for request in sink.requests)
    assert owners == {rep: 10 for rep in REPS}
    assert sorted(request["body"]["lead"] for request in sink.requests) == sorted(f"L-{n}" for n in range(30))


def test_a_status_change_recipe_notifies_only_on_real_changes(hub: HubProcess, sink: Sink) -> None:
    headers = hub.admin_headers()
    recipe = create(hub, headers, status_watch(sink.url))
    updates = [("D1", "new"), ("D1", "new"), ("D1", "qualified"), ("D2", "new"), ("D1", "qualified")]
    updates += [("D1", "won"), ("D2", "new"), ("D1", "won")]
    for done, (deal, status) in enumerate(updates, start=1):
        answer = requests.post(
            recipe["webhook_url"], json={"deal": {"id": deal, "status": status}}, timeout=10
        )
        assert answer.status_code == 202, answer.text
        wait_until(  # one at a time: the order of updates is the point here
            lambda done=done: statuses(hub, headers, recipe["id"]).count("succeeded") == done,
            timeout_s=30,
            what=f"run {done}",
        )
    notices = [(r["body"]["deal"], r["body"]["from"], r["body"]["to"]) for r in sink.requests]
    assert notices == [
        ("D1", None, "new"),
        ("D1", "new", "qualified"),
        ("D2", None, "new"),
        ("D1", "qualified", "won"),
    ]
    stored = requests.get(
        f"{hub.url}/api/v1/storage/recipe:{recipe['id']}?prefix=deal:", headers=headers, timeout=10
    )
    assert {e["key"]: e["value"] for e in stored.json()["entries"]} == {
        "deal:D1:status": "won",
        "deal:D2:status": "new",
    }
