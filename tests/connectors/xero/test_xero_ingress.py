"""Xero webhooks through the hub's real ingress: Intent-to-Receive answers and redelivered events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.connections import create_connection
from hub.db.models import Event, Run
from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime

KEY = "xero-webhook-key-for-tests"
TENANT = "aef86862-2015-4b6b-88bc-d89032cecc50"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def hook(runtime: Runtime) -> str:
    with runtime.db.transaction() as session:
        create_connection(
            session,
            runtime.registry,
            runtime.vault,
            name="xero-main",
            connector_id="xero",
            config={"client_id": "c", "client_secret": "s", "tenant_id": TENANT, "webhook_key": KEY},
        )
        recipe = save_recipe(
            session,
            runtime,
            {
                "name": "xero events",
                "trigger": {
                    "connector": "xero",
                    "trigger": "webhook",
                    "connection": "xero-main",
                    "config": {},
                },
                "steps": [],
            },
        )
        url = hook_urls(session, runtime, recipe)["webhook_url"]
    return "/hooks/" + url.split("/hooks/")[1]


def post(client: Any, path: str, body: bytes, key: str = KEY) -> Any:
    signature = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    return client.post(
        path, data=body, headers={"Content-Type": "application/json", "x-xero-signature": signature}
    )


def counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.db.transaction() as session:
        return session.scalar(select(func.count(Event.id))), session.scalar(select(func.count(Run.id)))


def test_intent_to_receive_gets_200_or_401_with_an_empty_body(runtime: Runtime, client: Any) -> None:
    path = hook(runtime)
    itr = b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}'
    good = post(client, path, itr)
    assert good.status_code == 200 and good.get_data() == b""
    bad = post(client, path, itr, key="not-the-key")
    assert bad.status_code == 401 and bad.get_data() == b""
    assert counts(runtime) == (0, 0)
    # The refused one is counted as a bad signature, not as a handshake.
    seen = {
        r: runtime.metrics.registry.get_sample_value("hub_webhooks_total", {"result": r})
        for r in ("handshake", "bad_signature")
    }
    assert seen == {"handshake": 1.0, "bad_signature": 1.0}


def test_events_are_stored_once_and_a_redelivery_starts_nothing(runtime: Runtime, client: Any) -> None:
    path = hook(runtime)
    event = {
        "resourceUrl": "https://api.xero.com/api.xro/2.0/Invoices/d4956132-ed94-4dd7-9eaa-aa22dfdf06f2",
        "resourceId": "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2",
        "eventDateUtc": "2025-12-02T00:45:00.000",
        "eventType": "UPDATE",
        "eventCategory": "INVOICE",
        "tenantId": TENANT,
        "tenantType": "ORGANISATION",
    }
    body = json.dumps(
        {"events": [event], "firstEventSequence": 5, "lastEventSequence": 5, "entropy": "X"}
    ).encode()
    first = post(client, path, body)
    assert first.status_code == 200 and first.get_data() == b""
    again = post(client, path, body)
    assert again.status_code == 200 and again.get_data() == b""
    assert counts(runtime) == (1, 1)
    tampered = post(client, path, body.replace(b"UPDATE", b"CREATE"), key="other")
    assert tampered.status_code == 401 and counts(runtime) == (1, 1)
