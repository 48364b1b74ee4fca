"""dingtalk.approval_status: DingTalk's documented crypto vector, the check_url handshake, encrypted
acknowledgements, and tampered, stale or foreign pushes refused, through the real ingress."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from connectors.dingtalk import connector
from connectors.dingtalk.crypto import check_signature, decrypt, encrypt, msg_signature
from hub.connections import create_connection
from hub.db.models import Event
from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime
from hub.sdk.context import Context
from hub.sdk.errors import SignatureError
from hub.sdk.types import InboundRequest

# DingTalk's published local-debugging example for callback encryption (open-doc "回调接口本地调试").
DOC_TOKEN = "123456"
DOC_AES_KEY = "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij"
DOC_SIGNATURE = "5a65ceeef9aab2d149439f82dc191dd6c5cbe2c0"
DOC_TIMESTAMP = "1445827045067"
DOC_NONCE = "nEXhMP4r"
DOC_ENCRYPT = (
    "1a3NBxmCFwkCJvfoQ7WhJHB+iX3qHPsc9JbaDznE1i03peOk1LaOQoRz3+nlyGNhwmwJ3vDMG+OzrHMeiZI7gTRWVdUBmfxjZ8Ej23"
    "JVYa9VrYeJ5as7XM/ZpulX8NEQis44w53h1qAgnC3PRzM7Zc/D6Ibr0rgUathB6zRHP8PYrfgnNOS9PhSBdHlegK+AGGanfwjXuQ9"
    "+0pZcy0w9lQ=="
)
DOC_PLAIN = (
    '{"EventType":"check_create_suite_url","Random":"LPIdSnlF","TestSuiteKey":"suite4xxxxxxxxxxxxxxx"}'
)

APP_KEY = "dingappkey01"
TOKEN = "cb-token-7"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url  # these tests are about DingTalk, not storage engines


def test_documented_vector_signature_and_decryption() -> None:
    assert msg_signature(DOC_TOKEN, DOC_TIMESTAMP, DOC_NONCE, DOC_ENCRYPT) == DOC_SIGNATURE
    check_signature(DOC_TOKEN, DOC_TIMESTAMP, DOC_NONCE, DOC_ENCRYPT, DOC_SIGNATURE)
    assert decrypt(DOC_AES_KEY, DOC_ENCRYPT) == (DOC_PLAIN, "suite4xxxxxxxxxxxxxxx")
    with pytest.raises(SignatureError):
        check_signature(DOC_TOKEN, DOC_TIMESTAMP, "nEXhMP4s", DOC_ENCRYPT, DOC_SIGNATURE)


def test_encrypt_pads_to_32_byte_blocks_and_round_trips() -> None:
    for size in (0, 11, 12, 43, 44, 300):
        message = "x" * size
        sealed = encrypt(AES_KEY, APP_KEY, message, random16=b"r" * 16)
        assert len(base64.b64decode(sealed)) % 32 == 0
        assert decrypt(AES_KEY, sealed) == (message, APP_KEY)
    # The documented plaintext, sealed again with the documented key, opens to the same thing.
    assert decrypt(DOC_AES_KEY, encrypt(DOC_AES_KEY, "suite4xxxxxxxxxxxxxxx", DOC_PLAIN)) == (
        DOC_PLAIN,
        "suite4xxxxxxxxxxxxxxx",
    )


def test_wrong_key_or_flipped_bits_do_not_decrypt() -> None:
    sealed = encrypt(AES_KEY, APP_KEY, '{"EventType":"check_url"}')
    with pytest.raises(SignatureError):
        decrypt(DOC_AES_KEY, sealed)
    raw = bytearray(base64.b64decode(sealed))
    raw[-1] ^= 0x55
    with pytest.raises(SignatureError):
        decrypt(AES_KEY, base64.b64encode(bytes(raw)).decode())


def push(event: dict[str, Any], *, stamp: str | None = None, owner: str = APP_KEY) -> tuple[str, bytes]:
    """What DingTalk sends: signed query string and {"encrypt": ...} body."""
    stamp = stamp or str(int(time.time() * 1000))
    sealed = encrypt(AES_KEY, owner, json.dumps(event, ensure_ascii=False))
    query = {
        "msg_signature": msg_signature(TOKEN, stamp, "n0nce", sealed),
        "timestamp": stamp,
        "nonce": "n0nce",
    }
    return urlencode(query), json.dumps({"encrypt": sealed}).encode()


def opened_reply(body: dict[str, str]) -> str:
    check_signature(TOKEN, body["timeStamp"], body["nonce"], body["encrypt"], body["msg_signature"])
    message, owner = decrypt(AES_KEY, body["encrypt"])
    assert owner == APP_KEY
    return message


FINISH = {
    "EventType": "bpms_instance_change",
    "processInstanceId": "ad253df6-e175-4a43",
    "corpId": "dingcorp01",
    "createTime": 1763870000000,
    "finishTime": 1763880000000,
    "title": "张三提交的请假",
    "type": "finish",
    "result": "agree",
    "staffId": "er5875",
    "url": "https://aflow.dingtalk.com/dingtalk/mobile/homepage.htm",
    "processCode": "PROC-FF6Y4BE1N2-01",
}


def context() -> Context:
    return Context(
        connector=connector,
        connection={
            "app_key": APP_KEY,
            "app_secret": "s",
            "callback_token": TOKEN,
            "callback_aes_key": AES_KEY,
        },
    )


def inbound(query: str, body: bytes) -> InboundRequest:
    from urllib.parse import parse_qsl

    return InboundRequest(
        "POST", "https://hub/hooks/x?" + query, "/hooks/x", {}, dict(parse_qsl(query)), body
    )


def test_trigger_parses_filters_and_refuses_foreign_owner() -> None:
    trigger = connector.trigger("approval_status")
    query, body = push(FINISH)
    trigger.verify(context(), {}, inbound(query, body))
    [event] = trigger.parse(context(), {}, inbound(query, body))
    assert event.id == "ad253df6-e175-4a43:COMPLETED:agree"
    assert event.data["status"] == "COMPLETED" and event.data["result"] == "agree"
    assert event.data["process_code"] == "PROC-FF6Y4BE1N2-01" and event.data["originator_user_id"] == "er5875"
    assert trigger.parse(context(), {"process_codes": ["PROC-OTHER"]}, inbound(query, body)) == []
    start_q, start_b = push({**FINISH, "type": "start", "result": ""})
    assert trigger.parse(context(), {}, inbound(start_q, start_b)) == []
    [started] = trigger.parse(context(), {"types": ["start"]}, inbound(start_q, start_b))
    assert started.id == "ad253df6-e175-4a43:RUNNING:"
    task_q, task_b = push({"EventType": "bpms_task_change", "processInstanceId": "p"})
    assert trigger.parse(context(), {}, inbound(task_q, task_b)) == []

    foreign_q, foreign_b = push(FINISH, owner="someoneelse")
    with pytest.raises(SignatureError, match="another app"):
        trigger.verify(context(), {}, inbound(foreign_q, foreign_b))
    corp_q, corp_b = push(FINISH, owner="dingcorp01")
    ctx = context()
    ctx.connection["corp_id"] = "dingcorp01"
    trigger.verify(ctx, {}, inbound(corp_q, corp_b))


# ---- through the real ingress -----------------------------------------------------------------------


def make_recipe(runtime: Runtime) -> str:
    with runtime.db.transaction() as session:
        create_connection(
            session,
            runtime.registry,
            runtime.vault,
            name="ding",
            connector_id="dingtalk",
            config={
                "app_key": APP_KEY,
                "app_secret": "app-secret",
                "callback_token": TOKEN,
                "callback_aes_key": AES_KEY,
            },
        )
    document = {
        "name": "approvals",
        "trigger": {
            "connector": "dingtalk",
            "trigger": "approval_status",
            "connection": "ding",
            "config": {},
        },
        "steps": [],
    }
    with runtime.db.transaction() as session:
        recipe = save_recipe(session, runtime, document)
        url = hook_urls(session, runtime, recipe)["webhook_url"]
    return "/hooks/" + url.split("/hooks/")[1]


def events(runtime: Runtime) -> int:
    with runtime.db.transaction() as session:
        return session.scalar(select(func.count(Event.id)))


def test_check_url_handshake_is_answered_with_encrypted_success(runtime: Runtime, client: Any) -> None:
    path = make_recipe(runtime)
    query, body = push({"EventType": "check_url"})
    answer = client.post(f"{path}?{query}", data=body, content_type="application/json")
    assert answer.status_code == 200
    reply = answer.get_json()
    assert set(reply) == {"msg_signature", "timeStamp", "nonce", "encrypt"}
    assert opened_reply(reply) == "success"
    assert events(runtime) == 0


def test_approval_event_is_stored_once_and_acknowledged_encrypted(runtime: Runtime, client: Any) -> None:
    path = make_recipe(runtime)
    query, body = push(FINISH)
    first = client.post(f"{path}?{query}", data=body, content_type="application/json")
    assert first.status_code == 200 and opened_reply(first.get_json()) == "success"
    assert events(runtime) == 1
    with runtime.db.transaction() as session:
        stored = session.scalars(select(Event)).one()
        assert stored.payload["instance_id"] == "ad253df6-e175-4a43" and stored.payload["result"] == "agree"
    # DingTalk retries a push it thinks failed: same event, freshly signed -> no second event.
    query2, body2 = push(FINISH)
    again = client.post(f"{path}?{query2}", data=body2, content_type="application/json")
    assert again.status_code == 200 and opened_reply(again.get_json()) == "success"
    assert events(runtime) == 1


def test_tampered_stale_and_unsigned_pushes_get_401(runtime: Runtime, client: Any) -> None:
    path = make_recipe(runtime)
    query, body = push(FINISH)
    sealed = json.loads(body)["encrypt"]
    forged = json.dumps({"encrypt": encrypt(AES_KEY, APP_KEY, json.dumps({**FINISH, "result": "refuse"}))})
    cases = [
        (query, forged.encode()),  # body swapped, signature of the original
        (query.replace("nonce=n0nce", "nonce=other"), body),  # query tampered
        (urlencode({"timestamp": "1", "nonce": "n"}), body),  # no signature
        push(FINISH, stamp=str(int((time.time() - 3600) * 1000))),  # an hour-old push replayed
        (query, json.dumps({"encrypt": sealed[:-8] + "AAAAAAA="}).encode()),
    ]
    for q, b in cases:
        answer = client.post(f"{path}?{q}", data=b, content_type="application/json")
        assert answer.status_code == 401, (q, answer.get_data(as_text=True))
    assert events(runtime) == 0
