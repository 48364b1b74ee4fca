"""Secrets inside recipe documents over the API: sealed at rest, shown redacted, kept through renames."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text

from hub.db.models import Recipe, TriggerState
from hub.recipe_secrets import open_document
from hub.recipe_store import current_document
from hub.runtime import Runtime
from tests.hub.api.conftest import make_connection, two_step_recipe

H = dict[str, dict[str, str]]
SECRET = "feed-s3cret-77a1"


def trigger_state(runtime: Runtime, recipe_id: int) -> tuple[int, str]:
    with runtime.db.transaction() as session:
        state = session.scalar(select(TriggerState).where(TriggerState.recipe_id == recipe_id))
        return state.id, state.signature


def test_a_connection_rename_keeps_the_poll_state_of_a_trigger_with_a_sealed_secret(
    client: Any, runtime: Runtime, kit: Any, headers: H
) -> None:
    editor = headers["editor"]
    connection = make_connection(client, editor)
    trigger = {"connector": "testkit", "trigger": "feed", "connection": "kit1", "config": {"token": SECRET}}
    made = client.post(
        "/api/v1/recipes", json={**two_step_recipe(enabled=False), "trigger": trigger}, headers=editor
    ).get_json()
    path = f"/api/v1/recipes/{made['id']}"
    with runtime.db.transaction() as session:
        raw = session.execute(text("SELECT document FROM recipe_versions")).scalar_one()
    assert SECRET not in str(raw)
    shown = client.get(path, headers=editor).get_json()["document"]
    assert shown["trigger"]["config"]["token"] == "[REDACTED]" and SECRET not in str(shown)
    before = trigger_state(runtime, made["id"])

    rename = client.put(f"/api/v1/connections/{connection['id']}", json={"name": "kit-2"}, headers=editor)
    assert rename.status_code == 200, rename.get_json()
    renamed = trigger_state(runtime, made["id"])
    assert renamed[0] == before[0] and renamed[1] != before[1]  # the signature follows the new name

    # re-saving what the API shows is the same source: the trigger state (its poll cursor) stays
    current = client.get(path, headers=editor).get_json()["document"]
    assert client.put(path, json=current, headers=editor).status_code == 200
    assert trigger_state(runtime, made["id"]) == renamed


def nested_recipe(enabled: bool) -> dict[str, Any]:
    """Secrets and a connection named only by steps nested in a parallel inside a for_each."""
    sign = {
        "connector": "webhook",
        "action": "post",
        "input": {"url": "https://example.com/h", "secret": SECRET},
    }
    record = {
        "connector": "testkit",
        "action": "record",
        "connection": "kit1",
        "input": {"value": "{{ item }}"},
    }
    fan = {"id": "fan", "type": "parallel", "branches": [[{"id": "sign", **sign}], [{"id": "rec", **record}]]}
    loop = {"id": "lines", "type": "for_each", "items": "{{ event.lines }}", "steps": [fan]}
    trigger = {"connector": "webhook", "trigger": "catch", "config": {}}
    return {"name": "nested", "enabled": enabled, "trigger": trigger, "steps": [loop]}


def test_nested_steps_secrets_are_sealed_kept_and_their_connections_renamed(
    client: Any, runtime: Runtime, kit: Any, headers: H
) -> None:
    editor = headers["editor"]
    connection = make_connection(client, editor)
    made = client.post("/api/v1/recipes", json=nested_recipe(enabled=True), headers=editor).get_json()
    path = f"/api/v1/recipes/{made['id']}"
    with runtime.db.transaction() as session:
        raw = session.execute(text("SELECT document FROM recipe_versions")).scalar_one()
    assert SECRET not in str(raw)  # sealed where it is nested
    shown = client.get(path, headers=editor).get_json()["document"]
    fan = shown["steps"][0]["steps"][0]
    assert fan["branches"][0][0]["input"]["secret"] == "[REDACTED]" and SECRET not in str(shown)

    # an enabled recipe using the connection in a nested step blocks a rename
    refused = client.put(f"/api/v1/connections/{connection['id']}", json={"name": "kit-2"}, headers=editor)
    assert refused.status_code == 409 and str(made["id"]) in refused.get_json()["error"]["message"]

    # re-saving the redacted document keeps the secret; a disabled recipe follows the rename
    assert client.put(path, json={**shown, "enabled": False}, headers=editor).status_code == 200
    rename = client.put(f"/api/v1/connections/{connection['id']}", json={"name": "kit-2"}, headers=editor)
    assert rename.status_code == 200, rename.get_json()
    with runtime.db.transaction() as session:
        recipe = session.get(Recipe, made["id"])
        document = open_document(
            current_document(session, recipe),
            runtime.vault,
            runtime.registry,
            recipe.id,
            recipe.current_version,
        )
    branches = document["steps"][0]["steps"][0]["branches"]
    assert branches[0][0]["input"]["secret"] == SECRET
    assert branches[1][0]["connection"] == "kit-2"
