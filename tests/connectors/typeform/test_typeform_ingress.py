"""Through the hub: enabling the recipe registers the webhook with a secret of its own (kept sealed in
the recipe's subscription state), a signed delivery starts one run, a replay starts none, a tampered
one is refused; disabling deletes it. Webhooks registered before per-webhook secrets keep verifying
with the connection's `webhook_secret`, and a `wait_for` step gets a registration of its own."""

from __future__ import annotations

import json
from typing import Any

import responses
from sqlalchemy import func, select

from connectors.typeform.signing import signature
from hub.connections import create_connection, merged_fields
from hub.db.models import Connection, Event, Run, TriggerState
from hub.engine.subscriptions import open_registrations, sync_subscription
from hub.recipe_store import get_recipe, hook_urls, save_recipe, set_enabled
from hub.runtime import Runtime
from tests.connectors.typeform.payloads import delivery, raw

API = "https://api.typeform.test"


def setup(runtime: Runtime, document: dict[str, Any] | None = None, **fields: Any) -> tuple[int, dict]:
    with runtime.db.transaction() as session:
        create_connection(
            session,
            runtime.registry,
            runtime.vault,
            name="tf",
            connector_id="typeform",
            config={"personal_token": "tfp_personal", "base_url": API, **fields},
        )
        recipe = save_recipe(
            session,
            runtime,
            document
            or {
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
        return recipe.id, hook_urls(session, runtime, recipe)


def stored(runtime: Runtime, recipe_id: int) -> dict[str, Any] | None:
    with runtime.db.transaction() as session:
        return session.scalar(select(TriggerState.subscription).where(TriggerState.recipe_id == recipe_id))


def counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.db.transaction() as session:
        return session.scalar(select(func.count(Event.id))), session.scalar(select(func.count(Run.id)))


def signed(secret: str, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "Typeform-Signature": signature(secret, body)}


@responses.activate
def test_registration_signed_delivery_replay_and_tampering(runtime: Runtime, client: Any) -> None:
    put = responses.put(f"{API}/forms/lT4Z3j/webhooks/crm", json={"id": "wh1", "tag": "crm"})
    recipe_id, urls = setup(runtime)
    assert sync_subscription(runtime, recipe_id) is None
    sent = json.loads(put.calls[0].request.body)
    assert sent["url"] == urls["webhook_url"] and sent["enabled"] is True and len(sent["secret"]) >= 40
    with runtime.db.transaction() as session:
        row = session.scalar(select(Connection).where(Connection.name == "tf"))
        assert "webhook_secret" not in merged_fields(row, runtime.vault)  # per webhook, not per connection
    column = stored(runtime, recipe_id)
    assert sent["secret"] not in json.dumps(column) and "crm" not in json.dumps(column)  # sealed
    registration = open_registrations(runtime.vault, recipe_id, column)["trigger"]
    assert registration["state"] == {
        "form_id": "lT4Z3j",
        "tag": "crm",
        "webhook_id": "wh1",
        "secret": sent["secret"],
    }

    body = raw(delivery())
    token = urls["webhook_url"].split("/hooks/")[1]
    first = client.post(f"/hooks/{token}", data=body, headers=signed(sent["secret"], body))
    assert first.status_code == 202, first.get_json()
    replay = client.post(f"/hooks/{token}", data=body, headers=signed(sent["secret"], body))
    assert replay.status_code == 200 and replay.get_json()["event_id"] == first.get_json()["event_id"]
    tampered = body.replace(b"li.lei@example.com", b"mallory@example.com")
    refused = client.post(f"/hooks/{token}", data=tampered, headers=signed(sent["secret"], body))
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "bad_signature"
    unsigned = client.post(f"/hooks/{token}", data=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    assert counts(runtime) == (1, 1)
    with runtime.db.transaction() as session:
        event = session.scalar(select(Event))
        assert event.payload["fields"]["email"] == "li.lei@example.com"

    delete = responses.delete(f"{API}/forms/lT4Z3j/webhooks/crm", status=204)
    with runtime.db.transaction() as session:
        set_enabled(session, get_recipe(session, recipe_id), False)
    assert sync_subscription(runtime, recipe_id) is None
    assert delete.call_count == 1 and stored(runtime, recipe_id) is None


@responses.activate
def test_a_webhook_registered_before_the_upgrade_keeps_the_connections_secret(
    runtime: Runtime, client: Any
) -> None:
    recipe_id, urls = setup(runtime, webhook_secret="secret-from-before")
    # the row an older hub wrote: plaintext, no secret in the state (it lived on the connection)
    old = {
        "spec": ["typeform", "form_response", "tf", {"form_id": "lT4Z3j", "tag": "crm"}],
        "hook_url": urls["webhook_url"],
        "state": {"form_id": "lT4Z3j", "tag": "crm", "webhook_id": "wh-old"},
    }
    with runtime.db.transaction() as session:
        session.scalar(select(TriggerState).where(TriggerState.recipe_id == recipe_id)).subscription = old
    token = urls["webhook_url"].split("/hooks/")[1]
    body = raw(delivery())
    assert (
        client.post(f"/hooks/{token}", data=body, headers=signed("secret-from-before", body)).status_code
        == 202
    )

    # nothing changed, so nothing is registered again (no mocked PUT: a call would fail the sync);
    # the row is sealed and deliveries keep verifying with the connection's secret
    assert sync_subscription(runtime, recipe_id) is None and len(responses.calls) == 0
    column = stored(runtime, recipe_id)
    assert set(column) == {"sealed"}
    assert open_registrations(runtime.vault, recipe_id, column)["trigger"] == old
    again = raw(delivery(event_id="01HZX4VJ8Q8M3T6F3K2B5N7R9D", token="b" * 32))
    assert (
        client.post(f"/hooks/{token}", data=again, headers=signed("secret-from-before", again)).status_code
        == 202
    )
    forged = client.post(f"/hooks/{token}", data=again, headers=signed("guess", again))
    assert forged.status_code == 401
    assert counts(runtime) == (2, 2)


@responses.activate
def test_a_wait_for_step_registers_its_own_webhook_with_its_own_secret(runtime: Runtime, client: Any) -> None:
    put = responses.put(f"{API}/forms/lT4Z3j/webhooks/survey", json={"id": "wh-wait"})
    document = {
        "name": "ask, then wait for the answer",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [
            {
                "id": "answered",
                "type": "wait_for",
                "connector": "typeform",
                "trigger": "form_response",
                "connection": "tf",
                "config": {"form_id": "lT4Z3j", "tag": "survey"},
                "match": {"hidden.case": "{{ event.case }}"},
                "timeout_s": 600,
            }
        ],
    }
    recipe_id, urls = setup(runtime, document, webhook_secret="connection-wide")
    assert sync_subscription(runtime, recipe_id) is None
    sent = json.loads(put.calls[0].request.body)
    assert sent["url"] == urls["wait_urls"]["answered"] and sent["secret"] != "connection-wide"
    waits = open_registrations(runtime.vault, recipe_id, stored(runtime, recipe_id))["waits"]
    assert waits["answered"]["state"]["secret"] == sent["secret"]

    token = urls["wait_urls"]["answered"].split("/hooks/")[1]
    body = raw(delivery())
    assert (
        client.post(f"/hooks/{token}", data=body, headers=signed("connection-wide", body)).status_code == 401
    )
    assert client.post(f"/hooks/{token}", data=body, headers=signed(sent["secret"], body)).status_code == 202

    delete = responses.delete(f"{API}/forms/lT4Z3j/webhooks/survey", status=204)
    with runtime.db.transaction() as session:
        set_enabled(session, get_recipe(session, recipe_id), False)
    assert sync_subscription(runtime, recipe_id) is None
    assert delete.call_count == 1 and stored(runtime, recipe_id) is None
