"""Secrets inside recipe documents over the API: sealed at rest, shown redacted, kept through renames."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text

from hub.db.models import TriggerState
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
