"""A running hub: a won deal's recipe asks a "price with tax" sub-recipe for the total and posts it
to a stand-in CRM on 127.0.0.1; a call without `wait` goes on at once; calls that cycle or nest
deeper than 5 are refused (at save when the cycle is written down, at run time when a template
makes it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.harness import HubProcess, Sink, wait_until

pytestmark = pytest.mark.e2e
FINAL = ("succeeded", "failed", "filtered", "cancelled")


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.close()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    process = HubProcess(tmp_path / "home")
    process.start()
    yield process
    process.stop()


def called(name: str, steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    schema = {"type": "object", "required": ["amount"], "properties": {"amount": {"type": "number"}}}
    trigger = {"connector": "recipe", "trigger": "called", "config": {"input_schema": schema}}
    return {"name": name, "trigger": trigger, "steps": steps, **extra}


def call(step_id: str, target: Any, event: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "connector": "recipe",
        "action": "call",
        "input": {"recipe": target, "event": event, **extra},
    }


def post(step_id: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"id": step_id, "connector": "webhook", "action": "post", "input": {"url": url, "json": body}}


class Api:
    def __init__(self, hub: HubProcess) -> None:
        self.url = f"{hub.url}/api/v1"
        self.headers = hub.admin_headers()

    def create(self, document: dict[str, Any]) -> dict[str, Any]:
        answer = requests.post(f"{self.url}/recipes", json=document, headers=self.headers, timeout=10)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def runs(self, recipe_id: int) -> list[dict[str, Any]]:
        params = {"recipe_id": recipe_id, "limit": 100}
        answer = requests.get(f"{self.url}/runs", params=params, headers=self.headers, timeout=10)
        return answer.json()["runs"]

    def run(self, run_id: int) -> dict[str, Any]:
        return requests.get(f"{self.url}/runs/{run_id}", headers=self.headers, timeout=10).json()

    def ended(self, recipe_id: int) -> dict[str, Any]:
        """The recipe's one run, once it ended."""

        def ended() -> bool:
            found = self.runs(recipe_id)
            return len(found) == 1 and found[0]["status"] in FINAL

        wait_until(ended, 60, f"the run of recipe {recipe_id}")
        return self.run(self.runs(recipe_id)[0]["id"])


def test_a_won_deal_posts_the_total_a_price_sub_recipe_returns(hub: HubProcess, sink: Sink) -> None:
    api = Api(hub)
    price = api.create(
        called(
            "price with tax",
            [{"id": "rate", "type": "delay", "seconds": 0}],
            output={"total": "{{ (event.amount * 1.13) | round(2) }}", "currency": "CNY"},
        )
    )
    assert "webhook_url" not in price  # started only by calls
    notify = api.create(
        called("notify sales", [post("tell", f"{sink.url}/notify", {"deal": "{{ event.deal }}"})])
    )
    won = api.create(
        {
            "name": "won deal",
            "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
            "steps": [
                call("price", "price with tax", {"amount": "{{ event.amount }}"}),
                call("heads_up", notify["id"], {"amount": 0, "deal": "{{ event.id }}"}, wait=False),
                post(
                    "invoice",
                    f"{sink.url}/won",
                    {"deal": "{{ event.id }}", "total": "{{ steps.price.total }}"},
                ),
            ],
        }
    )
    hook = requests.post(won["webhook_url"], json={"id": "D-7", "amount": 1000}, timeout=10)
    assert hook.status_code == 202, hook.text

    run = api.ended(won["id"])
    assert run["status"] == "succeeded", run
    steps = {s["id"]: s for s in run["steps"]}
    assert steps["price"]["output"] == {"total": 1130.0, "currency": "CNY"}
    assert set(steps["heads_up"]["output"]) == {"run_id"}
    wait_until(lambda: {r["path"] for r in sink.requests} == {"/won", "/notify"}, 30, "both posts")
    assert next(r["body"] for r in sink.requests if r["path"] == "/won") == {"deal": "D-7", "total": 1130.0}

    child = api.run(api.runs(price["id"])[0]["id"])
    assert (child["parent_run_id"], child["parent_path"]) == (run["id"], "price")
    assert child["output"] == {"total": 1130.0, "currency": "CNY"} and child["event"] == {"amount": 1000}
    assert api.run(steps["heads_up"]["output"]["run_id"])["parent_run_id"] == run["id"]


def test_cycles_and_chains_deeper_than_five_are_refused(hub: HubProcess) -> None:
    api = Api(hub)
    # at save: B calls A by name, so A calling B closes a cycle
    api.create(called("B", [call("back", "A", {"amount": 1})]))
    refused = requests.post(
        f"{api.url}/recipes",
        json=called("A", [{"id": "wait", "type": "delay", "seconds": 0}, call("to_b", "B", {"amount": 1})]),
        headers=api.headers,
        timeout=10,
    )
    assert refused.status_code == 422, refused.text
    (problem,) = refused.json()["error"]["details"]
    assert problem["path"] == "$.steps[1].input.recipe" and "call cycle" in problem["message"]

    # at run time: a callee named by a template that resolves to the caller
    bounce = api.create(called("bounce", [call("back", "{{ event.caller }}", {"amount": 1})]))
    origin = api.create(
        {
            "name": "origin",
            "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
            "steps": [call("out", "bounce", {"amount": 1, "caller": "origin"})],
        }
    )
    assert requests.post(origin["webhook_url"], json={}, timeout=10).status_code == 202
    assert api.ended(origin["id"])["status"] == "failed"
    back = {s["id"]: s for s in api.ended(bounce["id"])["steps"]}["back"]
    assert back["status"] == "failed" and "a call cycle" in back["error"]["message"]

    # a root calling level 1, level 1 calling level 2 ...: level 5's call would nest 6 deep
    levels = {}
    for level in range(6, 0, -1):
        levels[level] = api.create(
            called(f"level {level}", [call("down", f"level {level + 1}", {"amount": level})])
        )
    root = api.create(
        {
            "name": "root",
            "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
            "steps": [call("down", "level 1", {"amount": 0})],
        }
    )
    assert requests.post(root["webhook_url"], json={}, timeout=10).status_code == 202
    assert api.ended(root["id"])["status"] == "failed"
    assert all(api.ended(levels[n]["id"])["status"] == "failed" for n in range(1, 6))
    assert api.runs(levels[6]["id"]) == []
    deepest = api.ended(levels[5]["id"])
    error = {s["id"]: s for s in deepest["steps"]}["down"]["error"]
    assert "calls nest at most 5 deep" in error["message"]
