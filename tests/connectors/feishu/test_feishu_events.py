"""feishu approval_status: decryption (documented vector), signature, token, handshake, ingress replay,
subscribe (also for a wait_for step, at enable); and the polling counterpart's paging, cursor and
dedupe ids."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import responses
from sqlalchemy import select
from werkzeug.datastructures import Headers

from connectors.feishu import connector
from connectors.feishu.client import TOKEN_PATH
from connectors.feishu.events import check_signature, decrypt, sign
from hub.db.models import TriggerState
from hub.engine.poller import build_context
from hub.engine.subscriptions import open_registrations, sync_subscription
from hub.recipe_store import get_recipe, hook_urls, save_recipe, set_enabled
from hub.runtime import Runtime
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError, SignatureError
from hub.sdk.types import InboundRequest
from tests.connectors.feishu.feishu_kit import approval_event, encrypt, signed_body

KEY = "kE9d-encrypt"
TOKEN = "vT0ken-123"
BASE = "https://open.feishu.cn"
CONN = {"app_id": "cli_a1", "app_secret": "s", "verification_token": TOKEN, "encrypt_key": KEY}


def ctx(**connection: Any) -> Context:
    return Context(connector=connector, connection={**CONN, **connection}, connection_id=1)


def request(body: bytes, headers: dict[str, str]) -> InboundRequest:
    return InboundRequest("POST", "https://hub.example.com/hooks/t", "/hooks/t", Headers(headers), {}, body)


def test_documented_decryption_vector() -> None:
    # Feishu's event subscription guide: Encrypt Key "test key" decrypts this to "hello world".
    assert decrypt("test key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=") == "hello world"
    with pytest.raises(SignatureError):
        decrypt("other key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=")
    with pytest.raises(SignatureError, match="base64"):
        decrypt("test key", "not base64!")


def test_signature_is_sha256_of_timestamp_nonce_key_body() -> None:
    import hashlib

    body = b'{"encrypt":"abc"}'
    assert (
        sign("1700000000", "nonce1", "key", body) == hashlib.sha256(b"1700000000nonce1key" + body).hexdigest()
    )
    good = request(
        body,
        {
            "X-Lark-Request-Timestamp": "1700000000",
            "X-Lark-Request-Nonce": "nonce1",
            "X-Lark-Signature": sign("1700000000", "nonce1", "key", body),
        },
    )
    check_signature(good, "key")
    with pytest.raises(SignatureError, match="older than"):
        check_signature(good, "key", max_age_s=300, now=1700000301)
    check_signature(good, "key", max_age_s=300, now=1700000299)


def test_a_signed_timestamp_that_is_not_a_number_is_refused_when_a_window_is_set() -> None:
    # float("nan") made every age comparison false: the window never closed.
    body = b"{}"
    names = ("X-Lark-Request-Timestamp", "X-Lark-Request-Nonce", "X-Lark-Signature")
    signed = request(body, dict(zip(names, ["nan", "n", sign("nan", "n", "key", body)], strict=True)))
    check_signature(signed, "key")
    with pytest.raises(SignatureError, match="X-Lark-Request-Timestamp is not a Unix time"):
        check_signature(signed, "key", max_age_s=300, now=1700000000)


def test_encrypted_signed_event_verifies_and_parses() -> None:
    trigger = connector.trigger("approval_status")
    event = approval_event("INS-1", "APPROVED", "ev-1", TOKEN)
    body, headers = signed_body(KEY, event, str(int(time.time())))
    inbound = request(body, headers)
    assert trigger.handshake(ctx(), {}, inbound) is None
    trigger.verify(ctx(), {"max_age_s": 300}, inbound)
    [parsed] = trigger.parse(ctx(), {"approval_code": "APR-1"}, inbound)
    assert parsed.id == "ev-1"
    assert parsed.data["instance_code"] == "INS-1" and parsed.data["status"] == "APPROVED"
    assert parsed.data["approval_code"] == "APR-1" and parsed.data["event_type"] == "approval_instance"
    assert trigger.acknowledge(ctx(), {}, inbound, ["5"]).status == 200


@pytest.mark.parametrize("what", ["body", "signature", "timestamp", "key"])
def test_tampered_requests_are_refused(what: str) -> None:
    trigger = connector.trigger("approval_status")
    ts = str(int(time.time()))
    body, headers = signed_body(KEY, approval_event("INS-1", "APPROVED", "ev-1", TOKEN), ts)
    if what == "body":
        body, _ = signed_body(KEY, approval_event("INS-2", "APPROVED", "ev-1", TOKEN), ts)
    elif what == "signature":
        headers["X-Lark-Signature"] = "0" * 64
    elif what == "timestamp":
        headers["X-Lark-Request-Timestamp"] = str(int(ts) + 1)
    with pytest.raises(SignatureError):
        trigger.verify(ctx(encrypt_key="another key") if what == "key" else ctx(), {}, request(body, headers))


def test_wrong_verification_token_is_refused_even_when_signed() -> None:
    body, headers = signed_body(
        KEY, approval_event("INS-1", "APPROVED", "ev-1", "stolen"), str(int(time.time()))
    )
    with pytest.raises(SignatureError, match="Verification Token"):
        connector.trigger("approval_status").verify(ctx(), {}, request(body, headers))


def test_plain_events_need_the_token_and_a_configured_secret() -> None:
    trigger = connector.trigger("approval_status")
    body = json.dumps(approval_event("INS-1", "REJECTED", "ev-2", TOKEN)).encode()
    trigger.verify(ctx(encrypt_key=None), {}, request(body, {"Content-Type": "application/json"}))
    [event] = trigger.parse(ctx(encrypt_key=None), {}, request(body, {}))
    assert event.data["status"] == "REJECTED"
    with pytest.raises(SignatureError, match="needs a verification_token"):
        trigger.verify(ctx(encrypt_key=None, verification_token=None), {}, request(body, {}))
    with pytest.raises(
        SignatureError, match="missing X-Lark"
    ):  # with an Encrypt Key, signatures are required
        trigger.verify(ctx(), {}, request(body, {}))


def test_schema_2_events_use_header_event_id_and_token() -> None:
    body = {
        "schema": "2.0",
        "header": {
            "event_id": "5e3702a8",
            "token": TOKEN,
            "event_type": "approval.instance.status_changed",
            "tenant_key": "tk",
        },
        "event": {"object": {"instance_code": "INS-3", "approval_code": "APR-1", "status": "CANCELED"}},
    }
    raw = json.dumps(body).encode()
    trigger = connector.trigger("approval_status")
    trigger.verify(ctx(encrypt_key=None), {}, request(raw, {}))
    [event] = trigger.parse(ctx(encrypt_key=None), {}, request(raw, {}))
    assert event.id == "5e3702a8" and event.data["status"] == "CANCELED" and event.data["tenant_key"] == "tk"


def test_status_and_approval_filters_and_other_event_types() -> None:
    trigger = connector.trigger("approval_status")
    pending = json.dumps(approval_event("INS-1", "PENDING", "ev-3", TOKEN)).encode()
    assert trigger.parse(ctx(encrypt_key=None), {}, request(pending, {})) == []
    assert len(trigger.parse(ctx(encrypt_key=None), {"statuses": ["PENDING"]}, request(pending, {}))) == 1
    other = json.dumps(approval_event("INS-1", "APPROVED", "ev-4", TOKEN, approval_code="APR-2")).encode()
    assert trigger.parse(ctx(encrypt_key=None), {"approval_code": "APR-1"}, request(other, {})) == []
    message = json.dumps(
        {"uuid": "ev-5", "token": TOKEN, "type": "event_callback", "event": {"type": "message"}}
    )
    assert trigger.parse(ctx(encrypt_key=None), {}, request(message.encode(), {})) == []


def test_url_verification_plain_and_encrypted() -> None:
    trigger = connector.trigger("approval_status")
    challenge = {"challenge": "ajls384kdjx98XX", "token": TOKEN, "type": "url_verification"}
    answer = trigger.handshake(ctx(encrypt_key=None), {}, request(json.dumps(challenge).encode(), {}))
    assert answer.status == 200 and answer.body == {"challenge": "ajls384kdjx98XX"}
    sealed = json.dumps({"encrypt": encrypt(KEY, json.dumps(challenge))}).encode()
    assert trigger.handshake(ctx(), {}, request(sealed, {})).body == {"challenge": "ajls384kdjx98XX"}
    forged = json.dumps({**challenge, "token": "nope"}).encode()
    with pytest.raises(SignatureError):
        trigger.handshake(ctx(encrypt_key=None), {}, request(forged, {}))


@responses.activate
def test_subscribe_registers_the_approval_code_and_tolerates_an_existing_one() -> None:
    responses.post(f"{BASE}{TOKEN_PATH}", json={"code": 0, "tenant_access_token": "t-1", "expire": 7200})
    url = f"{BASE}/open-apis/approval/v4/approvals/APR-1/subscribe"
    route = responses.post(url, json={"code": 0, "msg": "success", "data": {}})
    trigger = connector.trigger("approval_status")
    state = trigger.subscribe(ctx(), {"approval_code": "APR-1"}, "https://hub.example.com/hooks/t")
    assert state == {"approval_code": "APR-1"}
    assert route.calls[0].request.headers["Authorization"] == "Bearer t-1"
    responses.replace(responses.POST, url, status=400, json={"code": 1390007, "msg": "subscription existed"})
    assert trigger.subscribe(ctx(), {"approval_code": "APR-1"}, "h") == {"approval_code": "APR-1"}
    responses.replace(
        responses.POST, url, status=400, json={"code": 1390002, "msg": "approval code not found"}
    )
    with pytest.raises(PermanentError, match="1390002"):
        trigger.subscribe(ctx(), {"approval_code": "APR-1"}, "h")
    assert trigger.subscribe(ctx(), {}, "h") is None


def test_through_ingress_replay_is_deduped_and_forgery_is_401(tmp_path: Path) -> None:
    from tests.connectors.twilio.hubkit import hub_kit

    with hub_kit(tmp_path) as kit:
        kit.connection(
            "oa",
            "feishu",
            {"app_id": "cli_a1", "app_secret": "s", "verification_token": TOKEN, "encrypt_key": KEY},
        )
        path = kit.recipe(
            {
                "connector": "feishu",
                "trigger": "approval_status",
                "connection": "oa",
                "config": {"approval_code": "APR-1"},
            }
        )
        challenge = {"challenge": "c-1", "token": TOKEN, "type": "url_verification"}
        sealed = json.dumps({"encrypt": encrypt(KEY, json.dumps(challenge))})
        answer = kit.client.post(path, data=sealed, content_type="application/json")
        assert answer.status_code == 200 and answer.get_json() == {"challenge": "c-1"}
        body, headers = signed_body(
            KEY, approval_event("INS-1", "APPROVED", "ev-1", TOKEN), str(int(time.time()))
        )
        first = kit.client.post(path, data=body, headers=headers)
        assert first.status_code == 200 and kit.counts() == (1, 1)
        again = kit.client.post(path, data=body, headers=headers)  # replayed as captured
        assert again.status_code == 200 and kit.counts() == (1, 1)
        headers["X-Lark-Signature"] = sign(headers["X-Lark-Request-Timestamp"], "n0nce", "guess", body)
        assert kit.client.post(path, data=body, headers=headers).status_code == 401
        assert kit.events()[0]["instance_code"] == "INS-1"


# --- polling counterpart ---------------------------------------------------------------------------


def instance(code: str, status: str, start: int) -> dict[str, Any]:
    return {
        "code": 0,
        "data": {
            "instance_code": code,
            "approval_code": "APR-1",
            "status": status,
            "start_time": str(start),
            "end_time": "0",
            "form": "[]",
        },
    }


@responses.activate
def test_poll_pages_through_instances_reports_final_ones_and_moves_the_cursor() -> None:
    responses.post(f"{BASE}{TOKEN_PATH}", json={"code": 0, "tenant_access_token": "t-1", "expire": 7200})
    listing = f"{BASE}/open-apis/approval/v4/instances"
    page1 = responses.get(
        listing,
        json={"code": 0, "data": {"instance_code_list": ["A", "B"], "page_token": "p2", "has_more": True}},
    )
    responses.get(listing, json={"code": 0, "data": {"instance_code_list": ["C"], "has_more": False}})
    responses.get(f"{listing}/A", json=instance("A", "APPROVED", 1000))
    responses.get(f"{listing}/B", json=instance("B", "PENDING", 2000))
    responses.get(f"{listing}/C", json=instance("C", "REJECTED", 3000))
    trigger = connector.trigger("approval_status_poll")
    result = trigger.poll(ctx(), {"approval_code": "APR-1"}, None)
    assert [(e.id, e.data["status"]) for e in result.items] == [
        ("A:APPROVED", "APPROVED"),
        ("C:REJECTED", "REJECTED"),
    ]
    assert json.loads(result.cursor) == {"from_ms": 2000}  # the oldest still-pending instance
    lists = [c.request for c in responses.calls if c.request.url.startswith(listing + "?")]
    first, second = (dict(p.split("=") for p in r.url.split("?")[1].split("&")) for r in lists)
    assert first["approval_code"] == "APR-1" and first["page_size"] == "100" and "page_token" not in first
    assert second["page_token"] == "p2" and second["start_time"] == first["start_time"]
    assert int(first["end_time"]) - int(first["start_time"]) == 168 * 3600 * 1000
    assert len(page1.calls) == 1


@responses.activate
def test_poll_empty_page_and_cursor_window() -> None:
    responses.post(f"{BASE}{TOKEN_PATH}", json={"code": 0, "tenant_access_token": "t-1", "expire": 7200})
    listing = f"{BASE}/open-apis/approval/v4/instances"
    route = responses.get(listing, json={"code": 0, "data": {"has_more": False}})
    trigger = connector.trigger("approval_status_poll")
    since = int(time.time() * 1000) - 60_000
    before = int(time.time() * 1000)
    result = trigger.poll(ctx(), {"approval_code": "APR-1"}, json.dumps({"from_ms": since}))
    assert result.items == [] and json.loads(result.cursor)["from_ms"] >= before
    assert f"start_time={since}" in route.calls[0].request.url


@responses.activate
def test_an_instance_started_on_a_feishu_clock_15_minutes_behind_is_listed() -> None:
    """Before: the next window started at the hub's now, after the start Feishu gives the instance."""
    responses.post(f"{BASE}{TOKEN_PATH}", json={"code": 0, "tenant_access_token": "t-1", "expire": 7200})
    listing = f"{BASE}/open-apis/approval/v4/instances"
    feishu_now = int(time.time() * 1000) - 15 * 60_000
    started: dict[str, int] = {}

    def listed(request: Any) -> tuple[int, dict[str, str], str]:
        query = dict(p.split("=") for p in request.url.split("?")[1].split("&"))
        codes = [c for c, at in started.items() if int(query["start_time"]) <= at <= int(query["end_time"])]
        date = format_datetime(datetime.fromtimestamp(feishu_now / 1000, UTC), usegmt=True)
        return 200, {"Date": date}, json.dumps({"code": 0, "data": {"instance_code_list": codes}})

    responses.add_callback(responses.GET, listing, callback=listed)
    responses.get(f"{listing}/N", json=instance("N", "APPROVED", feishu_now + 1000))
    trigger = connector.trigger("approval_status_poll")
    first = trigger.poll(ctx(), {"approval_code": "APR-1"}, None)
    started["N"] = feishu_now + 1000  # started after the first poll, by Feishu's clock
    second = trigger.poll(ctx(), {"approval_code": "APR-1"}, first.cursor)
    assert [e.id for e in second.items] == ["N:APPROVED"]


@responses.activate
def test_poll_one_instance_keeps_cursor_and_event_id_is_stable() -> None:
    responses.post(f"{BASE}{TOKEN_PATH}", json={"code": 0, "tenant_access_token": "t-1", "expire": 7200})
    route = responses.get(
        f"{BASE}/open-apis/approval/v4/instances/INS-7", json=instance("INS-7", "PENDING", 1)
    )
    trigger = connector.trigger("approval_status_poll")
    config = {"approval_code": "APR-1", "instance_code": "INS-7"}
    assert trigger.poll(ctx(), config, None).items == []
    responses.replace(
        responses.GET, f"{BASE}/open-apis/approval/v4/instances/INS-7", json=instance("INS-7", "APPROVED", 1)
    )
    first = trigger.poll(ctx(), config, None)
    second = trigger.poll(ctx(), config, None)
    assert (
        [e.id for e in first.items] == [e.id for e in second.items] == ["INS-7:APPROVED"]
    )  # the hub dedupes on it
    assert first.items[0].data["instance"]["status"] == "APPROVED" and route.calls


def stored(rt: Runtime, recipe_id: int) -> dict[str, Any] | None:
    with rt.db.transaction() as session:
        return session.scalar(select(TriggerState.subscription).where(TriggerState.recipe_id == recipe_id))


@responses.activate
def test_a_wait_step_on_approval_status_subscribes_its_definition_when_the_recipe_is_enabled(
    tmp_path: Path,
) -> None:
    from tests.connectors.twilio.hubkit import hub_kit

    responses.post(f"{BASE}{TOKEN_PATH}", json={"code": 0, "tenant_access_token": "t-1", "expire": 7200})
    subscribe = responses.post(f"{BASE}/open-apis/approval/v4/approvals/APR-1/subscribe", json={"code": 0})
    create = responses.post(
        f"{BASE}/open-apis/approval/v4/instances", json={"code": 0, "data": {"instance_code": "I"}}
    )
    with hub_kit(tmp_path) as kit:
        kit.connection("oa", "feishu", CONN)
        document = {
            "name": "approve",
            "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
            "steps": [
                {
                    "id": "start",
                    "connector": "feishu",
                    "action": "create_approval_instance",
                    "connection": "oa",
                    "input": {"approval_code": "APR-1", "user_id": "u1", "form": []},
                },
                {
                    "id": "approved",
                    "type": "wait_for",
                    "connector": "feishu",
                    "trigger": "approval_status",
                    "connection": "oa",
                    "config": {"approval_code": "APR-1"},
                    "match": {"instance_code": "{{ steps.start.instance_code }}"},
                },
            ],
        }
        rt = kit.runtime
        with rt.db.transaction() as session:
            recipe_id = save_recipe(session, rt, document).id
            wait_url = hook_urls(session, rt, get_recipe(session, recipe_id))["wait_urls"]["approved"]
        assert sync_subscription(rt, recipe_id) is None
        assert (
            len(subscribe.calls) == 1 and subscribe.calls[0].request.headers["Authorization"] == "Bearer t-1"
        )
        waits = open_registrations(rt.vault, recipe_id, stored(rt, recipe_id))["waits"]
        assert waits["approved"]["hook_url"] == wait_url
        assert waits["approved"]["state"] == {"approval_code": "APR-1"}

        # the approval step finds the definition subscribed (shared cache) and does not ask again
        action = connector.action("create_approval_instance")
        action.perform(
            build_context(rt, connector, "oa"), {"approval_code": "APR-1", "user_id": "u1", "form": []}
        )
        assert len(create.calls) == 1 and len(subscribe.calls) == 1

        assert sync_subscription(rt, recipe_id) is None and len(subscribe.calls) == 1  # unchanged: kept
        with rt.db.transaction() as session:
            set_enabled(session, get_recipe(session, recipe_id), False)
        assert sync_subscription(rt, recipe_id) is None and stored(rt, recipe_id) is None
