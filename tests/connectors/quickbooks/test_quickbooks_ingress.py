"""Through the hub: a signed CloudEvents delivery for two companies starts runs for this connection's
only, answers 200, a replay starts nothing more, and a tampered delivery is refused."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from connectors.quickbooks.signing import signature
from hub.connections import create_connection
from hub.db.models import Event, Run
from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime

VERIFIER = "e7a9b5c1-verifier-token"


def event(eid: str, realm: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": eid,
        "source": "intuit.abc",
        "type": "qbo.invoice.updated.v1",
        "time": "2026-11-23T09:16:40.000Z",
        "intuitentityid": "130",
        "intuitaccountid": realm,
        "data": {},
    }


def test_signed_delivery_replay_and_tampering(runtime: Runtime, client: Any) -> None:
    with runtime.db.transaction() as session:
        create_connection(
            session,
            runtime.registry,
            runtime.vault,
            name="qbo",
            connector_id="quickbooks",
            config={
                "client_id": "ABc",
                "client_secret": "s3",
                "realm_id": "9130357766900456",
                "webhook_verifier_token": VERIFIER,
            },
        )
        trigger = {"connector": "quickbooks", "trigger": "webhook", "connection": "qbo", "config": {}}
        recipe = save_recipe(session, runtime, {"name": "qbo", "trigger": trigger, "steps": []})
        token = hook_urls(session, runtime, recipe)["webhook_url"].split("/hooks/")[1]

    body = json.dumps([event("e1", "9130357766900456"), event("e2", "310687")]).encode()
    headers = {
        "Content-Type": "application/cloudevents-batch+json",
        "intuit-signature": signature(VERIFIER, body),
    }
    first = client.post(f"/hooks/{token}", data=body, headers=headers)
    assert first.status_code == 200 and len(first.get_json()["event_ids"]) == 1
    replay = client.post(f"/hooks/{token}", data=body, headers=headers)
    assert replay.status_code == 200 and replay.get_json()["event_ids"] == first.get_json()["event_ids"]
    tampered = client.post(f"/hooks/{token}", data=body.replace(b'"130"', b'"999"'), headers=headers)
    assert tampered.status_code == 401
    with runtime.db.transaction() as session:
        assert session.scalar(select(func.count(Event.id))) == 1
        assert session.scalar(select(func.count(Run.id))) == 1
        assert session.scalar(select(Event)).payload["id"] == "130"
