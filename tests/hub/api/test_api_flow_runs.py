"""Run detail and replay through the API for flow steps: inner steps listed with path and item."""

from __future__ import annotations

from typing import Any

import jsonschema

from hub.api.openapi import RUN_SCHEMA
from tests.hub.api.conftest import make_connection
from tests.hub.api.test_api_runs import run_live

H = dict[str, dict[str, str]]


def loop_recipe() -> dict[str, Any]:
    record = {"connector": "testkit", "action": "record", "connection": "kit1"}
    return {
        "name": "loop",
        "trigger": {"connector": "testkit", "trigger": "inbox", "connection": "kit1", "config": {}},
        "steps": [
            {
                "id": "lines",
                "type": "for_each",
                "items": "{{ event.lines }}",
                "steps": [{"id": "post", **record, "input": {"value": "{{ item }}"}}],
            },
            {"id": "after", **record, "input": {"value": "{{ steps.post.echo }}"}},
        ],
    }


def test_run_detail_lists_inner_steps_and_replay_takes_a_path(client: Any, kit: Any, headers: H) -> None:
    make_connection(client, headers["editor"])
    created = client.post("/api/v1/recipes", json=loop_recipe(), headers=headers["editor"])
    assert created.status_code == 201, created.get_json()
    run = run_live(client, headers, created.get_json()["id"], {"lines": ["x", "y", "z"]})
    detail = client.get(f"/api/v1/runs/{run['id']}", headers=headers["viewer"]).get_json()
    jsonschema.validate(detail, RUN_SCHEMA)
    assert detail["status"] == "succeeded"
    listed = [(s["path"], s["id"], s["item"], s["status"]) for s in detail["steps"]]
    assert listed == [
        ("lines", "lines", None, "succeeded"),
        ("lines.0.post", "post", 0, "succeeded"),
        ("lines.1.post", "post", 1, "succeeded"),
        ("lines.2.post", "post", 2, "succeeded"),
        ("after", "after", None, "succeeded"),
    ]
    keys = [s["attempt_log"][0]["idempotency_key"] for s in detail["steps"] if s["id"] == "post"]
    assert keys == [f"{run['id']}:lines.{i}.post" for i in range(3)]

    replay = client.post(
        f"/api/v1/runs/{run['id']}/replay", json={"from_step": "lines.2.post"}, headers=headers["editor"]
    )
    assert replay.status_code in (200, 201, 202), replay.get_json()
    again = client.get(f"/api/v1/runs/{replay.get_json()['id']}", headers=headers["viewer"]).get_json()
    assert again["status"] == "succeeded"
    assert [s["path"] for s in again["steps"] if s["status"] == "succeeded"][:2] == [
        "lines.0.post",
        "lines.1.post",
    ]
    missing = client.post(
        f"/api/v1/runs/{run['id']}/replay", json={"from_step": "lines.9.post"}, headers=headers["editor"]
    )
    assert missing.status_code in (409, 422) and "lines.9.post" in missing.get_json()["error"]["message"]
