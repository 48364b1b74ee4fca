"""Connectors' metadata, and connections whose secret fields are write-only."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from hub.connections import secrets_binding
from hub.db.models import Connection, RecipeVersion, TriggerState
from hub.recipe_store import trigger_signature
from hub.runtime import Runtime
from tests.hub.api.conftest import audit_log, make_connection, two_step_recipe

H = dict[str, dict[str, str]]
SECRET = "pa55word-VERY-secret"


def test_connectors_list_and_detail(client: Any, kit: Any, headers: H) -> None:
    listed = client.get("/api/v1/connectors", headers=headers["viewer"]).get_json()["connectors"]
    mine = next(c for c in listed if c["id"] == "testkit")
    assert mine["name"] == "Test kit" and mine["category"] == "testing"
    assert mine["triggers"] == ["inbox", "feed"] and mine["actions"] == ["record", "pay"]
    assert {"icon", "docs_url"} <= set(mine)
    detail = client.get("/api/v1/connectors/testkit", headers=headers["viewer"]).get_json()
    assert detail["connection_schema"]["properties"]["password"]["writeOnly"] is True
    assert detail["actions"][0]["input_schema"]["type"] == "object"
    assert detail["triggers"][0]["config_schema"]["type"] == "object"
    assert client.get("/api/v1/connectors/nope", headers=headers["viewer"]).status_code == 404


def test_secret_fields_are_never_returned(client: Any, runtime: Runtime, kit: Any, headers: H) -> None:
    editor, viewer = headers["editor"], headers["viewer"]
    created = make_connection(client, editor, region="eu")
    assert created["secrets"] == {"password": True} and created["config"] == {
        "username": "ada",
        "region": "eu",
    }
    changed = client.put(
        f"/api/v1/connections/{created['id']}",
        json={"config": {"region": "us"}, "rate_limit": 2.5},
        headers=editor,
    )
    assert changed.status_code == 200
    kept = changed.get_json()
    assert (
        kept["secrets"] == {"password": True}
        and kept["config"]["region"] == "us"
        and kept["rate_limit"] == 2.5
    )
    test = client.post(f"/api/v1/connections/{created['id']}/test", headers=editor).get_json()
    assert test == {
        "ok": True,
        "message": "signed in as ada",
    }  # the kept password still reaches the connector
    texts = [
        json.dumps(created),
        json.dumps(kept),
        client.get(f"/api/v1/connections/{created['id']}", headers=viewer).get_data(as_text=True),
        client.get("/api/v1/connections", headers=viewer).get_data(as_text=True),
        client.get("/api/v1/audit", headers=headers["admin"]).get_data(as_text=True),
    ]
    assert all(SECRET not in text for text in texts)
    with runtime.db.transaction() as session:
        row = session.scalar(select(Connection))
        assert SECRET not in (row.secrets or "") and SECRET not in json.dumps(row.config)
        assert runtime.vault.decrypt(row.secrets, secrets_binding(row)) == {"password": SECRET}


def test_connection_test_failure_is_redacted(client: Any, kit: Any, headers: H) -> None:
    created = make_connection(client, headers["editor"], region="refuse")
    answer = client.post(f"/api/v1/connections/{created['id']}/test", headers=headers["editor"])
    assert answer.status_code == 200
    result = answer.get_json()
    assert result["ok"] is False and "refused for ada" in result["message"]
    assert SECRET not in answer.get_data(as_text=True)
    assert (
        client.post(f"/api/v1/connections/{created['id']}/test", headers=headers["viewer"]).status_code == 403
    )
    assert client.post("/api/v1/connections/999/test", headers=headers["editor"]).status_code == 404


def test_connection_validation(client: Any, kit: Any, headers: H) -> None:
    editor = headers["editor"]

    def post(body: Any) -> Any:
        return client.post("/api/v1/connections", json=body, headers=editor)

    def path(answer: Any) -> str:
        assert answer.status_code == 422, answer.get_json()
        return answer.get_json()["error"]["details"]["path"]

    assert path(post({"name": "x", "connector": "nope"})) == "$.connector"
    assert path(post({"connector": "testkit"})) == "$.name"
    assert path(post({"name": "x", "connector": "testkit", "config": {"username": 5, "password": "p"}})) == (
        "$.config.username"
    )
    assert path(post({"name": "x", "connector": "testkit", "config": {"username": "a"}})) == "$.config"
    config = {"username": "a", "password": "p-123456"}
    assert (
        path(post({"name": "x", "connector": "testkit", "config": config, "rate_limit": -1}))
        == "$.rate_limit"
    )
    assert path(post({"name": "x", "connector": "testkit", "config": config, "concurrency_limit": 1.5})) == (
        "$.concurrency_limit"
    )
    made = make_connection(client, editor)
    duplicate = post({"name": "kit1", "connector": "testkit", "config": config})
    assert duplicate.status_code == 409 and duplicate.get_json()["error"]["code"] == "conflict"
    assert client.get("/api/v1/connections/999", headers=editor).status_code == 404
    renamed = client.put(f"/api/v1/connections/{made['id']}", json={"name": "kit2"}, headers=editor)
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "kit2"
    assert renamed.get_json()["secrets"] == {"password": True}


def test_connection_in_use_by_an_enabled_recipe(client: Any, runtime: Runtime, kit: Any, headers: H) -> None:
    editor = headers["editor"]
    connection = make_connection(client, editor)
    recipe = client.post("/api/v1/recipes", json=two_step_recipe(), headers=editor).get_json()
    in_use = client.delete(f"/api/v1/connections/{connection['id']}", headers=editor)
    assert in_use.status_code == 409 and str(recipe["id"]) in in_use.get_json()["error"]["message"]
    rename = client.put(f"/api/v1/connections/{connection['id']}", json={"name": "elsewhere"}, headers=editor)
    assert rename.status_code == 409  # recipes refer to connections by name
    client.post(f"/api/v1/recipes/{recipe['id']}/disable", headers=editor)
    assert client.delete(f"/api/v1/connections/{connection['id']}", headers=editor).status_code == 204
    assert client.get(f"/api/v1/connections/{connection['id']}", headers=editor).status_code == 404
    actions = [a for who, a in audit_log(runtime) if who == "editor@example.com"]
    assert actions[0] == "connection.create" and actions[-1] == "connection.delete"


def test_renaming_a_connection_carries_disabled_recipes_along(
    client: Any, runtime: Runtime, kit: Any, headers: H
) -> None:
    """Recipes name their connections: a rename used to leave a disabled recipe naming one that no
    longer exists (its test runs failed, re-saving it was refused). Every version now names the new one."""
    editor = headers["editor"]
    connection = make_connection(client, editor)
    made = client.post("/api/v1/recipes", json=two_step_recipe(enabled=False), headers=editor).get_json()
    path = f"/api/v1/recipes/{made['id']}"
    assert client.put(path, json=two_step_recipe(enabled=False, name="v2"), headers=editor).status_code == 200
    other = client.post(
        "/api/v1/recipes", json={**two_step_recipe(enabled=False), "steps": []}, headers=editor
    ).get_json()
    with runtime.db.transaction() as session:
        before = session.scalar(select(TriggerState.signature).where(TriggerState.recipe_id == made["id"]))

    rename = client.put(f"/api/v1/connections/{connection['id']}", json={"name": "kit-2"}, headers=editor)
    assert rename.status_code == 200, rename.get_json()
    for version in (1, 2):
        document = client.get(f"{path}/versions/{version}", headers=editor).get_json()["document"]
        named = {document["trigger"]["connection"]} | {s["connection"] for s in document["steps"]}
        assert named == {"kit-2"}, version
    assert (
        client.get(f"/api/v1/recipes/{other['id']}", headers=editor).get_json()["document"]["trigger"][
            "connection"
        ]
        == "kit-2"
    )
    with runtime.db.transaction() as session:  # same source under a new name: the poll cursor stays
        after = session.scalar(select(TriggerState.signature).where(TriggerState.recipe_id == made["id"]))
        assert before != after
        document = session.scalar(
            select(RecipeVersion.document).where(
                RecipeVersion.recipe_id == made["id"], RecipeVersion.version == 2
            )
        )
        assert after == trigger_signature(document)
    run = client.post(f"{path}/test", json={"event": {"v": "x"}, "dry_run": False}, headers=editor).get_json()
    assert run["status"] == "succeeded", run
    current = client.get(path, headers=editor).get_json()["document"]
    assert client.put(path, json=current, headers=editor).status_code == 200  # re-saving is accepted
    # an enabled recipe using it still refuses the rename (its runs hold the document)
    assert client.post(f"{path}/enable", headers=editor).status_code == 200
    refused = client.put(f"/api/v1/connections/{connection['id']}", json={"name": "kit-3"}, headers=editor)
    assert refused.status_code == 409


def test_moving_a_connection_needs_its_secrets_again(
    client: Any, runtime: Runtime, kit: Any, headers: H
) -> None:
    """Changing only base_url must not carry the stored auth token to the new host."""
    editor, sid = headers["editor"], "AC" + "0" * 32
    made = client.post(
        "/api/v1/connections",
        json={
            "name": "sms",
            "connector": "twilio",
            "config": {"account_sid": sid, "auth_token": "tok-123456"},
        },
        headers=editor,
    ).get_json()
    url = f"/api/v1/connections/{made['id']}"

    moved = client.put(url, json={"config": {"base_url": "https://collector.example.net"}}, headers=editor)
    assert moved.status_code == 400
    error = moved.get_json()["error"]
    assert error["code"] == "secrets_required" and error["details"]["reenter"] == ["auth_token"]
    assert "base_url" in error["message"] and "auth_token" in error["message"]
    assert client.get(url, headers=editor).get_json()["config"] == {"account_sid": sid}  # nothing changed

    for same_host in ("https://api.twilio.com/", "HTTPS://api.twilio.com:443/2010-04-01"):
        kept = client.put(url, json={"config": {"base_url": same_host}}, headers=editor)
        assert kept.status_code == 200, kept.get_json()  # a new path on the same host keeps the secrets
    assert (
        client.put(url, json={"config": {"account_sid": "AC" + "1" * 32}}, headers=editor).status_code == 200
    )

    config = {"base_url": "https://twilio.internal.example", "auth_token": "tok-654321"}
    assert client.put(url, json={"config": config}, headers=editor).status_code == 200
    back = client.put(url, json={"config": {"base_url": None}}, headers=editor)  # the default is a move too
    assert back.status_code == 400 and back.get_json()["error"]["details"]["changed"] == ["base_url"]
    cleared = client.put(url, json={"config": {"base_url": None, "auth_token": None}}, headers=editor)
    assert cleared.status_code == 200 and cleared.get_json()["secrets"]["auth_token"] is False


def test_host_fields_of_connectors_are_bound_like_base_url(client: Any, kit: Any, headers: H) -> None:
    editor = headers["editor"]
    config = {"auth_type": "bearer", "token": "tok-123456", "allowed_hosts": ["api.example.com"]}
    made = client.post(
        "/api/v1/connections", json={"name": "api", "connector": "http", "config": config}, headers=editor
    ).get_json()
    url = f"/api/v1/connections/{made['id']}"
    wider = {"allowed_hosts": ["api.example.com", "collector.example.net"]}
    answer = client.put(url, json={"config": wider}, headers=editor)
    assert answer.status_code == 400 and answer.get_json()["error"]["details"]["reenter"] == ["token"]
    reordered = {"allowed_hosts": ["API.example.com"]}
    assert client.put(url, json={"config": reordered}, headers=editor).status_code == 200
    assert (
        client.put(url, json={"config": {**wider, "token": "tok-123456"}}, headers=editor).status_code == 200
    )


def test_connectors_mark_the_fields_that_say_where_requests_go() -> None:
    from connectors.dingtalk import connector as dingtalk
    from connectors.docusign import connector as docusign
    from connectors.email import connector as email
    from connectors.http import connector as http
    from connectors.salesforce import connector as salesforce

    assert http.host_fields() == {"base_url", "allowed_hosts"}
    assert email.host_fields() == {"host", "imap_host"}
    assert salesforce.host_fields() == {"instance_url", "token_url", "authorize_url"}
    assert docusign.host_fields() >= {"base_url", "base_uri", "token_url", "authorize_url"}
    assert dingtalk.host_fields() >= {"base_url", "oapi_base_url"}
