"""Connections, recipes and runs through the REST API, as a client would use them."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from hub.db.models import AuditEntry, Connection
from hub.sdk.errors import PermanentError, RetryableError


def echo_recipe(**extra: Any) -> dict[str, Any]:
    return {
        "name": "echo",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [
            {
                "id": "a",
                "connector": "enginekit",
                "action": "echo",
                "connection": "kit1",
                "input": {"value": "{{ event.v }}"},
            },
            {
                "id": "b",
                "connector": "enginekit",
                "action": "echo",
                "connection": "kit1",
                "input": {"value": "{{ steps.a.echo }}+"},
            },
        ],
        **extra,
    }


def make_connection(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/connections",
        json={"name": "kit1", "connector": "enginekit", "config": {"api_key": "sk_test_VERYSECRET"}},
        headers=headers,
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_connection_secrets_are_write_only(api: Any) -> None:
    client, rt, _kit, headers = api
    created = make_connection(client, headers["editor"])
    assert created["secrets"] == {"api_key": True}
    texts = [
        json.dumps(created),
        client.get(f"/api/v1/connections/{created['id']}", headers=headers["viewer"]).get_data(as_text=True),
        client.get("/api/v1/connections", headers=headers["viewer"]).get_data(as_text=True),
        client.get("/api/v1/audit", headers=headers["admin"]).get_data(as_text=True),
    ]
    assert all("sk_test_VERYSECRET" not in text for text in texts)
    with rt.db.transaction() as session:
        row = session.scalar(select(Connection))
        assert "sk_test_VERYSECRET" not in (row.secrets or "") and "sk_test_VERYSECRET" not in json.dumps(
            row.config
        )
        assert rt.vault.decrypt(row.secrets) == {"api_key": "sk_test_VERYSECRET"}
    kept = client.put(
        f"/api/v1/connections/{created['id']}",
        json={"config": {}, "rate_limit": 5},
        headers=headers["editor"],
    )
    assert kept.get_json()["secrets"] == {"api_key": True} and kept.get_json()["rate_limit"] == 5


def test_connection_errors(api: Any) -> None:
    client, _rt, _kit, headers = api
    unknown = client.post(
        "/api/v1/connections", json={"name": "x", "connector": "nope"}, headers=headers["editor"]
    )
    assert unknown.status_code == 422 and unknown.get_json()["error"]["details"]["path"] == "$.connector"
    bad = client.post(
        "/api/v1/connections",
        json={"name": "x", "connector": "enginekit", "config": {"api_key": 5}},
        headers=headers["editor"],
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["details"]["path"] == "$.config.api_key"
    make_connection(client, headers["editor"])
    duplicate = client.post(
        "/api/v1/connections",
        json={"name": "kit1", "connector": "enginekit", "config": {"api_key": "k"}},
        headers=headers["editor"],
    )
    assert duplicate.status_code == 409


def test_connection_in_use_cannot_be_deleted(api: Any) -> None:
    client, _rt, _kit, headers = api
    connection = make_connection(client, headers["editor"])
    recipe = client.post("/api/v1/recipes", json=echo_recipe(), headers=headers["editor"]).get_json()
    assert (
        client.delete(f"/api/v1/connections/{connection['id']}", headers=headers["editor"]).status_code == 409
    )
    client.post(f"/api/v1/recipes/{recipe['id']}/disable", headers=headers["editor"])
    assert (
        client.delete(f"/api/v1/connections/{connection['id']}", headers=headers["editor"]).status_code == 204
    )


def test_recipe_lifecycle_versions_and_errors(api: Any) -> None:
    client, rt, _kit, headers = api
    make_connection(client, headers["editor"])
    created = client.post("/api/v1/recipes", json=echo_recipe(), headers=headers["editor"])
    assert created.status_code == 201
    recipe = created.get_json()
    assert recipe["version"] == 1 and recipe["webhook_url"].startswith("http://127.0.0.1:8000/hooks/")
    changed = client.put(
        f"/api/v1/recipes/{recipe['id']}", json=echo_recipe(name="renamed"), headers=headers["editor"]
    )
    assert changed.get_json()["version"] == 2
    assert changed.get_json()["webhook_url"] == recipe["webhook_url"]  # the address survives new versions
    versions = client.get(f"/api/v1/recipes/{recipe['id']}/versions", headers=headers["viewer"]).get_json()[
        "versions"
    ]
    assert [v["version"] for v in versions] == [1, 2] and versions[1]["created_by"] == "editor@example.com"
    assert (
        client.get(f"/api/v1/recipes/{recipe['id']}/versions/1", headers=headers["viewer"]).get_json()[
            "document"
        ]["name"]
        == "echo"
    )
    detail = client.get(f"/api/v1/recipes/{recipe['id']}", headers=headers["viewer"]).get_json()
    assert detail["document"]["name"] == "renamed" and detail["enabled"] is True
    assert (
        client.post(f"/api/v1/recipes/{recipe['id']}/disable", headers=headers["editor"]).get_json()[
            "enabled"
        ]
        is False
    )
    wrong = echo_recipe()
    wrong["steps"][1]["input"]["value"] = "{{ steps.a.echo "
    answer = client.put(f"/api/v1/recipes/{recipe['id']}", json=wrong, headers=headers["editor"])
    assert (
        answer.status_code == 422
        and answer.get_json()["error"]["details"]["path"] == "$.steps[1].input.value"
    )
    wrong = echo_recipe()
    wrong["steps"][0]["connection"] = "missing"
    answer = client.post("/api/v1/recipes", json=wrong, headers=headers["editor"])
    assert answer.get_json()["error"]["details"]["path"] == "$.steps[0].connection"
    assert client.delete(f"/api/v1/recipes/{recipe['id']}", headers=headers["editor"]).status_code == 204
    assert client.get(f"/api/v1/recipes/{recipe['id']}", headers=headers["viewer"]).status_code == 404
    with rt.db.transaction() as session:
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions[:4] == ["connection.create", "recipe.create", "recipe.update", "recipe.disable"]


def test_yaml_import(api: Any) -> None:
    client, _rt, _kit, headers = api
    text = "name: from yaml\ntrigger: {connector: webhook, trigger: catch}\nsteps: []\n"
    answer = client.post(
        "/api/v1/recipes", data=text, content_type="application/yaml", headers=headers["editor"]
    )
    assert answer.status_code == 201 and answer.get_json()["name"] == "from yaml"


def test_dry_run_renders_and_performs_nothing_then_live_run_performs_once(api: Any) -> None:
    client, _rt, kit, headers = api
    make_connection(client, headers["editor"])
    recipe = client.post("/api/v1/recipes", json=echo_recipe(), headers=headers["editor"]).get_json()
    dry = client.post(
        f"/api/v1/recipes/{recipe['id']}/test",
        json={"event": {"v": "hi"}, "dry_run": True},
        headers=headers["editor"],
    ).get_json()
    assert dry["status"] == "succeeded" and dry["dry_run"] is True
    assert [s["input"] for s in dry["steps"]] == [{"value": "hi"}, {"value": "sample+"}]
    assert kit.calls == []
    live = client.post(
        f"/api/v1/recipes/{recipe['id']}/test",
        json={"event": {"v": "hi"}, "dry_run": False},
        headers=headers["editor"],
    ).get_json()
    assert live["status"] == "succeeded" and [s["output"]["echo"] for s in live["steps"]] == ["hi", "hi+"]
    assert len(kit.calls) == 2
    assert live["steps"][0]["attempt_log"][0]["idempotency_key"] == f"{live['id']}:a"


def test_runs_list_filter_page_replay_cancel_and_resolve(api: Any) -> None:
    client, _rt, kit, headers = api
    make_connection(client, headers["editor"])
    recipe = client.post("/api/v1/recipes", json=echo_recipe(), headers=headers["editor"]).get_json()
    hook = "/hooks/" + recipe["webhook_url"].rsplit("/", 1)[1]
    for n in range(5):
        assert client.post(hook, json={"v": n}).status_code == 202
    page = client.get("/api/v1/runs?limit=2", headers=headers["viewer"]).get_json()
    assert len(page["runs"]) == 2 and page["next_cursor"]
    rest = client.get(
        f"/api/v1/runs?limit=10&cursor={page['next_cursor']}", headers=headers["viewer"]
    ).get_json()
    assert len(rest["runs"]) == 3 and rest["next_cursor"] is None
    assert {r["status"] for r in page["runs"] + rest["runs"]} == {"succeeded"}
    first = rest["runs"][-1]["id"]
    replay = client.post(f"/api/v1/runs/{first}/replay", json={"from_step": "b"}, headers=headers["editor"])
    assert replay.status_code == 201 and replay.get_json()["replay_of"] == first
    assert replay.get_json()["status"] == "succeeded"
    kit.script.append(RetryableError("timeout after send", outcome_unknown=True))
    held_recipe = echo_recipe(name="held")
    held_recipe["steps"] = [
        {"id": "pay", "connector": "enginekit", "action": "charge", "connection": "kit1", "input": {}}
    ]
    held = client.post("/api/v1/recipes", json=held_recipe, headers=headers["editor"]).get_json()
    run = client.post(
        f"/api/v1/recipes/{held['id']}/test", json={"event": {}, "dry_run": False}, headers=headers["editor"]
    ).get_json()
    assert run["status"] == "held"
    held_runs = client.get("/api/v1/runs?status=held", headers=headers["viewer"]).get_json()["runs"]
    assert [r["id"] for r in held_runs] == [run["id"]]
    refused = client.post(
        f"/api/v1/runs/{run['id']}/resolve", json={"action": "maybe"}, headers=headers["editor"]
    )
    assert refused.status_code == 409
    resolved = client.post(
        f"/api/v1/runs/{run['id']}/resolve", json={"action": "fail"}, headers=headers["editor"]
    ).get_json()
    assert resolved["status"] == "failed"
    cancelled = client.post(f"/api/v1/runs/{run['id']}/cancel", headers=headers["editor"])
    assert cancelled.status_code == 409


def test_vendor_webhook_is_registered_while_enabled_and_follows_trigger_changes(api: Any) -> None:
    client, _rt, kit, headers = api
    make_connection(client, headers["editor"])
    doc = {
        "name": "sub",
        "trigger": {
            "connector": "enginekit",
            "trigger": "hook",
            "connection": "kit1",
            "config": {"topic": "deal"},
        },
        "steps": [],
    }
    recipe = client.post("/api/v1/recipes", json=doc, headers=headers["editor"]).get_json()
    assert [(r["url"], r["topic"]) for r in kit.registered] == [(recipe["webhook_url"], "deal")]
    client.put(f"/api/v1/recipes/{recipe['id']}", json={**doc, "name": "renamed"}, headers=headers["editor"])
    assert len(kit.registered) == 1  # same trigger: the registration stays
    doc["trigger"]["config"]["topic"] = "invoice"
    changed = client.put(f"/api/v1/recipes/{recipe['id']}", json=doc, headers=headers["editor"])
    assert changed.status_code == 200, changed.get_json()
    assert [r["topic"] for r in kit.registered] == ["invoice"]  # old one removed, new one made
    client.post(f"/api/v1/recipes/{recipe['id']}/disable", headers=headers["editor"])
    assert kit.registered == []
    kit.subscribe_error = PermanentError("app not approved for webhooks")
    answer = client.post(f"/api/v1/recipes/{recipe['id']}/enable", headers=headers["editor"]).get_json()
    assert "app not approved" in answer["warnings"][0]
    detail = client.get(f"/api/v1/recipes/{recipe['id']}", headers=headers["viewer"]).get_json()
    assert "app not approved" in detail["trigger_state"]["last_error"]
    kit.subscribe_error = None
    client.post(f"/api/v1/recipes/{recipe['id']}/disable", headers=headers["editor"])
    client.post(f"/api/v1/recipes/{recipe['id']}/enable", headers=headers["editor"])
    assert len(kit.registered) == 1
    client.delete(f"/api/v1/recipes/{recipe['id']}", headers=headers["editor"])
    assert kit.registered == []
