"""yonyou event subscription: the envelope, both signature schemes, the app check, and the real ingress."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.dingtalk.crypto import encrypt
from connectors.yonyou import connector
from connectors.yonyou.events import encoding_aes_key, hmac_signature, sha1_signature
from hub.connections import create_connection
from hub.db.models import Event, Run
from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime
from hub.sdk.context import Context
from hub.sdk.errors import SignatureError
from hub.sdk.types import InboundRequest

APP_KEY, APP_SECRET = "2b1f0c7e9a5d4e3f", "7f3c9a1e-4b2d-8c6f-0e5a-1b2c3d4e5f60aa"
EVENT = {
    "type": "SALE_ORDER_AUDIT",
    "eventId": "033af2b1-96c0",
    "tenantId": "t8f2k1",
    "timestamp": 1763892000000,
}


def ctx() -> Context:
    return Context(connector=connector, connection={"app_key": APP_KEY, "app_secret": APP_SECRET})


def sealed(
    message: dict[str, Any], *, owner: str = APP_KEY, scheme: str = "sha1", stamp: int | None = None
) -> bytes:
    ts, nonce = str(stamp if stamp is not None else int(time.time() * 1000)), "uM48M4qajlEtVCz4"
    secret_text = encrypt(encoding_aes_key(APP_SECRET), owner, json.dumps(message))
    if scheme == "sha1":
        body = {"msgSignature": sha1_signature(APP_SECRET, ts, nonce, secret_text)}
    else:
        body = {"signature": hmac_signature(APP_SECRET, ts, nonce, secret_text)}
    return json.dumps({**body, "timestamp": int(ts), "nonce": nonce, "encrypt": secret_text}).encode()


def request(body: bytes) -> InboundRequest:
    return InboundRequest(
        "POST", "https://hub/hooks/t", "/hooks/t", {"Content-Type": "application/json"}, {}, body
    )


def test_key_and_signatures_follow_the_documented_algorithms() -> None:
    # Derived from the documented algorithms (no published vector with a known AppSecret):
    # key = AppSecret without '-', cut/padded with '0' to 43; SHA-1 hex of the sorted four values;
    # Base64 HmacSHA256(AppSecret, sorted [timestamp, nonce, encrypt]).
    assert encoding_aes_key(APP_SECRET) == "7f3c9a1e4b2d8c6f0e5a1b2c3d4e5f60aa000000000"
    assert encoding_aes_key("a-b") == "ab" + "0" * 41
    parts = sorted([APP_SECRET, "1530862251583", "uM48M4qajlEtVCz4", "9Mo8oaTF"])
    assert (
        sha1_signature(APP_SECRET, "1530862251583", "uM48M4qajlEtVCz4", "9Mo8oaTF")
        == hashlib.sha1("".join(parts).encode()).hexdigest()
    )
    joined = "".join(sorted(["1530862251583", "uM48M4qajlEtVCz4", "9Mo8oaTF"])).encode()
    expected = base64.b64encode(hmac.new(APP_SECRET.encode(), joined, hashlib.sha256).digest()).decode()
    assert hmac_signature(APP_SECRET, "1530862251583", "uM48M4qajlEtVCz4", "9Mo8oaTF") == expected


@pytest.mark.parametrize("scheme", ["sha1", "hmac"])
def test_an_event_signed_either_way_is_decrypted_into_one_run(scheme: str) -> None:
    trigger, body = connector.trigger("event"), sealed(EVENT, scheme=scheme)
    trigger.verify(ctx(), {}, request(body))
    (event,) = trigger.parse(ctx(), {}, request(body))
    assert event.id == "033af2b1-96c0" and event.data["type"] == "SALE_ORDER_AUDIT"
    assert event.data["content"] == EVENT
    assert trigger.acknowledge(ctx(), {}, request(body), [event.id]).body == "success"  # type: ignore[union-attr]


def test_tampered_stale_or_foreign_events_are_refused() -> None:
    trigger = connector.trigger("event")
    tampered = json.loads(sealed(EVENT))
    tampered["nonce"] = "other"
    for body in (
        json.dumps(tampered).encode(),
        sealed(EVENT, owner="another-app"),
        sealed(EVENT, stamp=int((time.time() - 30 * 3600) * 1000)),
    ):
        with pytest.raises(SignatureError):
            trigger.verify(ctx(), {}, request(body))


def test_url_check_and_unwanted_types_start_nothing() -> None:
    trigger = connector.trigger("event")
    assert trigger.parse(ctx(), {}, request(sealed({"type": "CHECK_URL", "eventId": "x"}))) == []
    assert trigger.parse(ctx(), {"types": ["OTHER"]}, request(sealed(EVENT))) == []


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def test_ingress_answers_success_once_and_a_bad_signature_starts_nothing(
    runtime: Runtime, client: Any
) -> None:
    with runtime.db.transaction() as session:
        create_connection(
            session,
            runtime.registry,
            runtime.vault,
            name="ys",
            connector_id="yonyou",
            config={"app_key": APP_KEY, "app_secret": APP_SECRET, "tenant_id": "t8f2k1"},
        )
        recipe = save_recipe(
            session,
            runtime,
            {
                "name": "ys",
                "trigger": {"connector": "yonyou", "trigger": "event", "connection": "ys"},
                "steps": [],
            },
        )
        path = "/hooks/" + hook_urls(session, runtime, recipe)["webhook_url"].split("/hooks/")[1]

    def counts() -> tuple[int, int]:
        with runtime.db.transaction() as session:
            return session.scalar(select(func.count(Event.id))), session.scalar(select(func.count(Run.id)))

    forged = json.loads(sealed(EVENT))
    forged["msgSignature"] = "0" * 40
    bad = client.post(path, data=json.dumps(forged), headers={"Content-Type": "application/json"})
    assert bad.status_code == 401 and counts() == (0, 0)
    body = sealed(EVENT)
    for _ in range(2):  # the platform retries until it reads `success`
        good = client.post(path, data=body, headers={"Content-Type": "application/json"})
        assert good.status_code == 200 and good.get_data() == b"success"
    assert counts() == (1, 1)


def test_an_event_sealed_with_another_key_is_refused_with_a_clear_message() -> None:
    ts, nonce = str(int(time.time() * 1000)), "n1"
    foreign = encrypt(encoding_aes_key("another-app-secret-value"), APP_KEY, json.dumps(EVENT), b"0" * 16)
    body = {"msgSignature": sha1_signature(APP_SECRET, ts, nonce, foreign), "timestamp": ts, "nonce": nonce}
    with pytest.raises(SignatureError, match="用友: the event cannot be decrypted with the AppSecret"):
        connector.trigger("event").verify(
            ctx(), {}, request(json.dumps({**body, "encrypt": foreign}).encode())
        )
