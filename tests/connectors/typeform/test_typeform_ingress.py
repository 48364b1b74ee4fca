"""Through the hub: enabling the recipe registers the webhook (secret kept in the vault), a signed
delivery starts one run, a replay starts none, a tampered one is refused; disabling deletes it."""

from __future__ import annotations

import json
from typing import Any

import responses
from sqlalchemy import func, select

from connectors.typeform.signing import signature
from hub.connections import create_connection, merged_fields
from hub.db.models import Connection, Event, Run, TriggerState
from hub.engine.subscriptions import sync_subscription
from hub.recipe_store import get_recipe, hook_urls, save_recipe, set_enabled
from hub.runtime import Runtime
from tests.connectors.typeform.payloads import delivery, raw


def setup(runtime: Runtime) -> tuple[int, str]:
    with runtime.db.transaction() as session:
        create_connection(
            session,
            runtime.registry,
            runtime.vault,
            name="tf",
            connector_id="typeform",
            config={"personal_token": "tfp_personal", "base_url": "https://api.typeform.test"},
        )
        recipe = save_recipe(
            session,
            runtime,
            {
                "name": "responses",
                "trigger": {
                    "connector": "typeform",
                    "trigger": "form_response",
                    "connection": "tf",
                    "config": {"form_id": "lT4Z3j", "tag": "crm"},
                },
                "steps": [],
            },
        )
        url = hook_urls(session, runtime, recipe)["webhook_url"]
        return recipe.id, url.split("/hooks/")[1]


def counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.db.transaction() as session:
        return session.scalar(select(func.count(Event.id))), session.scalar(select(func.count(Run.id)))


@responses.activate
def test_registration_signed_delivery_replay_and_tampering(runtime: Runtime, client: Any) -> None:
    put = responses.put(
        "https://api.typeform.test/forms/lT4Z3j/webhooks/crm", json={"id": "wh1", "tag": "crm"}
    )
    recipe_id, token = setup(runtime)
    assert sync_subscription(runtime, recipe_id) is None
    sent = json.loads(put.calls[0].request.body)
    assert sent["url"] == f"{runtime.settings.base_url}/hooks/{token}" and sent["enabled"] is True
    with runtime.db.transaction() as session:
        row = session.scalar(select(Connection).where(Connection.name == "tf"))
        assert merged_fields(row, runtime.vault)["webhook_secret"] == sent["secret"]
        assert sent["secret"] not in json.dumps(row.config)  # in the vault, not in plain config
        state = session.scalar(select(TriggerState).where(TriggerState.recipe_id == recipe_id))
        assert state.subscription["state"] == {"form_id": "lT4Z3j", "tag": "crm", "webhook_id": "wh1"}
        assert sent["secret"] not in json.dumps(state.subscription)

    body = raw(delivery())
    headers = {"Content-Type": "application/json", "Typeform-Signature": signature(sent["secret"], body)}
    first = client.post(f"/hooks/{token}", data=body, headers=headers)
    assert first.status_code == 202, first.get_json()
    replay = client.post(f"/hooks/{token}", data=body, headers=headers)
    assert replay.status_code == 200 and replay.get_json()["event_id"] == first.get_json()["event_id"]
    tampered = body.replace(b"li.lei@example.com", b"mallory@example.com")
    refused = client.post(f"/hooks/{token}", data=tampered, headers=headers)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "bad_signature"
    unsigned = client.post(f"/hooks/{token}", data=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    assert counts(runtime) == (1, 1)
    with runtime.db.transaction() as session:
        event = session.scalar(select(Event))
        assert event.payload["fields"]["email"] == "li.lei@example.com"

    delete = responses.delete("https://api.typeform.test/forms/lT4Z3j/webhooks/crm", status=204)
    with runtime.db.transaction() as session:
        set_enabled(session, get_recipe(session, recipe_id), False)
    assert sync_subscription(runtime, recipe_id) is None
    assert delete.call_count == 1
