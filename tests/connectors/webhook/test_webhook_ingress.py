"""Webhook ingress with `webhook.catch`: the statuses of docs/architecture.md, nothing stored half-way."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.webhook.signing import standard_webhooks_signature
from hub.db.models import Event, Run
from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime


def make_recipe(runtime: Runtime, config: dict[str, Any] | None = None, enabled: bool = True) -> str:
    document = {
        "name": "catch",
        "enabled": enabled,
        "trigger": {"connector": "webhook", "trigger": "catch", "config": config or {}},
        "steps": [],
    }
    with runtime.db.transaction() as session:
        recipe = save_recipe(session, runtime, document)
        url = hook_urls(session, runtime, recipe)["webhook_url"]
    return url.split("/hooks/")[1]


def counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.db.transaction() as session:
        return session.scalar(select(func.count(Event.id))), session.scalar(select(func.count(Run.id)))


def test_json_event_is_stored_then_acknowledged_and_runs(runtime: Runtime, client: Any) -> None:
    token = make_recipe(runtime)
    answer = client.post(
        f"/hooks/{token}", json={"deal": {"id": 7, "amount": 12.5}}, headers={"Authorization": "Bearer x"}
    )
    assert answer.status_code == 202
    event_id = answer.get_json()["event_id"]
    with runtime.db.transaction() as session:
        event = session.get(Event, int(event_id))
        run = session.scalar(select(Run).where(Run.event_id == event.id))
        assert str(event.payload["deal"]["amount"]) == "12.5"
        assert "Authorization" not in event.payload["_headers"]
        assert run.status == "succeeded"


def test_form_post_becomes_an_object(runtime: Runtime, client: Any) -> None:
    token = make_recipe(runtime)
    answer = client.post(f"/hooks/{token}", data={"name": "Li Lei", "tag": ["a", "b"]})
    assert answer.status_code == 202
    with runtime.db.transaction() as session:
        payload = session.get(Event, int(answer.get_json()["event_id"])).payload
    assert payload["name"] == "Li Lei" and payload["tag"] == ["a", "b"]


def test_repeat_of_the_same_vendor_event_id_answers_200_without_a_second_run(
    runtime: Runtime, client: Any
) -> None:
    token = make_recipe(runtime, {"id_field": "event.id"})
    first = client.post(f"/hooks/{token}", json={"event": {"id": "evt_1"}})
    second = client.post(f"/hooks/{token}", json={"event": {"id": "evt_1"}})
    third = client.post(f"/hooks/{token}", json={"event": {"id": "evt_2"}})
    assert (first.status_code, second.status_code, third.status_code) == (202, 200, 202)
    assert first.get_json()["event_id"] == second.get_json()["event_id"]
    assert counts(runtime) == (2, 2)


def test_webhook_id_header_dedupes_when_no_id_field(runtime: Runtime, client: Any) -> None:
    token = make_recipe(runtime)
    for _ in range(2):
        client.post(f"/hooks/{token}", json={"x": 1}, headers={"Webhook-Id": "msg_1"})
    client.post(f"/hooks/{token}", json={"x": 1})
    client.post(f"/hooks/{token}", json={"x": 1})
    assert counts(runtime) == (3, 3)


def test_unknown_and_disabled_tokens_are_404(runtime: Runtime, client: Any) -> None:
    assert client.post("/hooks/nope", json={}).status_code == 404
    token = make_recipe(runtime, enabled=False)
    assert client.post(f"/hooks/{token}", json={}).status_code == 404
    assert counts(runtime) == (0, 0)


def test_unparseable_json_is_400_and_nothing_is_stored(runtime: Runtime, client: Any) -> None:
    token = make_recipe(runtime)
    answer = client.post(f"/hooks/{token}", data=b"{not json", content_type="application/json")
    assert answer.status_code == 400
    assert "JSON" in answer.get_json()["error"]["message"]
    assert counts(runtime) == (0, 0)


def test_oversize_body_is_413(runtime: Runtime, client: Any) -> None:
    token = make_recipe(runtime)
    big = b'{"a": "' + b"x" * (runtime.settings.max_webhook_bytes + 10) + b'"}'
    assert client.post(f"/hooks/{token}", data=big, content_type="application/json").status_code == 413

    assert counts(runtime) == (0, 0)


@pytest.mark.parametrize("prefix", ["", "sha256="])
def test_hmac_signature_checked(runtime: Runtime, client: Any, prefix: str) -> None:
    token = make_recipe(runtime, {"auth": "hmac_sha256", "secret": "s3cret"})
    body = json.dumps({"a": 1}).encode()
    good = prefix + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json"}
    assert (
        client.post(f"/hooks/{token}", data=body, headers={**headers, "X-Signature": good}).status_code == 202
    )
    bad = prefix + hmac.new(b"other", body, hashlib.sha256).hexdigest()
    assert (
        client.post(f"/hooks/{token}", data=body, headers={**headers, "X-Signature": bad}).status_code == 401
    )
    tampered = body.replace(b"1", b"2")
    assert (
        client.post(f"/hooks/{token}", data=tampered, headers={**headers, "X-Signature": good}).status_code
        == 401
    )
    assert client.post(f"/hooks/{token}", data=body, headers=headers).status_code == 401
    malformed = client.post(
        f"/hooks/{token}", data=body, headers={**headers, "X-Signature": "sha256=zz\u00e9"}
    )
    assert malformed.status_code == 401
    assert counts(runtime) == (1, 1)


def test_standard_webhooks_signature_and_timestamp(runtime: Runtime, client: Any) -> None:
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    token = make_recipe(runtime, {"auth": "standard_webhooks", "secret": secret})
    body = b'{"type": "deal.won"}'
    now = str(int(time.time()))
    signature = standard_webhooks_signature(secret, "msg_1", now, body)
    headers = {"Content-Type": "application/json", "webhook-id": "msg_1", "webhook-timestamp": now}
    ok = client.post(
        f"/hooks/{token}", data=body, headers={**headers, "webhook-signature": f"v1,AAAA {signature}"}
    )
    assert ok.status_code == 202
    old = str(int(time.time()) - 3600)
    stale = standard_webhooks_signature(secret, "msg_2", old, body)
    answer = client.post(
        f"/hooks/{token}",
        data=body,
        headers={**headers, "webhook-id": "msg_2", "webhook-timestamp": old, "webhook-signature": stale},
    )
    assert answer.status_code == 401
    garbage = client.post(
        f"/hooks/{token}",
        data=body,
        headers={**headers, "webhook-timestamp": "soon", "webhook-signature": "v1,"},
    )
    assert garbage.status_code == 401
    assert counts(runtime) == (1, 1)


def test_secret_headers_of_the_sender_are_not_stored(runtime: Runtime, client: Any) -> None:
    token = make_recipe(runtime)
    headers = {"X-Api-Key": "k-123456", "X-Access-Key": "a-123456", "X-Trace": "t1"}
    answer = client.post(f"/hooks/{token}", json={"x": 1}, headers=headers)
    assert answer.status_code == 202
    with runtime.db.transaction() as session:
        stored = session.get(Event, int(answer.get_json()["event_id"])).payload["_headers"]
    assert stored["X-Api-Key"] == stored["X-Access-Key"] == "[REDACTED]"
    assert stored["X-Trace"] == "t1"
    assert "k-123456" not in json.dumps(stored) and "a-123456" not in json.dumps(stored)


@pytest.mark.parametrize(
    ("webhook_id", "problem"),
    [("m" * 10_000, "at most 200"), ("msg\x01one", "printable ASCII"), ("msg\x7f", "printable ASCII")],
)
def test_bad_webhook_id_is_400_and_nothing_is_stored(
    runtime: Runtime, client: Any, webhook_id: str, problem: str
) -> None:
    token = make_recipe(runtime)
    answer = client.post(f"/hooks/{token}", json={"x": 1}, headers={"Webhook-Id": webhook_id})
    assert answer.status_code == 400
    assert "Webhook-Id" in answer.get_json()["error"]["message"]
    assert problem in answer.get_json()["error"]["message"]
    assert counts(runtime) == (0, 0)


def test_signed_standard_webhook_with_an_oversized_id_is_400(runtime: Runtime, client: Any) -> None:
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    token = make_recipe(runtime, {"auth": "standard_webhooks", "secret": secret})
    body, now, msg_id = b'{"type": "deal.won"}', str(int(time.time())), "m" * 300
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": now,
        "webhook-signature": standard_webhooks_signature(secret, msg_id, now, body),
    }
    assert client.post(f"/hooks/{token}", data=body, headers=headers).status_code == 400
    assert counts(runtime) == (0, 0)
