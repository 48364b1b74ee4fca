"""wecom.approval_status: WeCom's published crypto sample, the URL-verification GET, encrypted
approval events through the real ingress, and forged, stale or foreign callbacks refused."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import func, select

from connectors.wecom import connector
from connectors.wecom.callback import xml_dict
from hub.db.models import Event
from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime
from hub.sdk.context import Context
from hub.sdk.errors import InvalidBodyError, SignatureError
from hub.sdk.msgcrypt import check_signature, decrypt, encrypt, msg_signature
from hub.sdk.types import InboundRequest
from tests.connectors.wecom.wecom_kit import (
    AES_KEY,
    CORP_ID,
    TOKEN,
    add_wecom_connection,
    approval_xml,
    signed_post,
    verify_url_query,
)

# WeCom's published sample (official callback library, Sample.py; the crypto page 90968 links it).
DOC_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
DOC_AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
DOC_CORP_ID = "ww1436e0e65a779aee"
DOC_VERIFY = {
    "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
    "timestamp": "1476416373",
    "nonce": "47744683",
    "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
}
DOC_ECHO_PLAIN = "1288432023552776189"
DOC_POST = {
    "msg_signature": "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
    "timestamp": "1476422779",
    "nonce": "1597212914",
}
DOC_ENCRYPT = (
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AE"
    "ew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8K"
    "ZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQD"
    "CWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+"
)
DOC_PLAIN = (
    "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>"
    "<CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
    "<MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url  # these tests are about WeCom, not storage engines


def test_published_sample_verifies_and_decrypts() -> None:
    v = DOC_VERIFY
    assert msg_signature(DOC_TOKEN, v["timestamp"], v["nonce"], v["echostr"]) == v["msg_signature"]
    assert decrypt(DOC_AES_KEY, v["echostr"]) == (DOC_ECHO_PLAIN, DOC_CORP_ID)
    p = DOC_POST
    check_signature(DOC_TOKEN, p["timestamp"], p["nonce"], DOC_ENCRYPT, p["msg_signature"])
    assert decrypt(DOC_AES_KEY, DOC_ENCRYPT) == (DOC_PLAIN, DOC_CORP_ID)
    assert xml_dict(DOC_PLAIN)["Content"] == "你好"
    with pytest.raises(SignatureError):
        check_signature(DOC_TOKEN, p["timestamp"], "1597212915", DOC_ENCRYPT, p["msg_signature"])


def test_published_url_verification_through_the_trigger() -> None:
    """The sample's GET, answered with the bare plaintext (its timestamp is old: a wide window)."""
    ctx = Context(
        connector=connector,
        connection={"corp_id": DOC_CORP_ID, "callback_token": DOC_TOKEN, "callback_aes_key": DOC_AES_KEY},
    )
    request = InboundRequest("GET", "https://hub/hooks/x", "/hooks/x", {}, DOC_VERIFY, b"")
    trigger = connector.trigger("approval_status")
    with pytest.raises(SignatureError, match="timestamp"):
        trigger.handshake(ctx, {}, request)  # 2016: far outside the default window
    old_enough = {"max_age_s": int(time.time()) - 1476416373 + 60}
    answer = trigger.handshake(ctx, old_enough, request)
    assert answer is not None and answer.status == 200 and answer.body == DOC_ECHO_PLAIN.encode()


def test_padding_is_to_32_bytes_including_a_whole_block() -> None:
    for size in (0, 1, 12, 13, 44, 300):
        sealed = encrypt(AES_KEY, CORP_ID, "x" * size, random16=b"r" * 16)
        assert len(__import__("base64").b64decode(sealed)) % 32 == 0
        assert decrypt(AES_KEY, sealed) == ("x" * size, CORP_ID)
    # 16 + 4 + 12 + 0 = 32 bytes of plaintext: a whole block of 32 x 0x20 is added.
    assert decrypt(AES_KEY, encrypt(AES_KEY, "", "x" * 12)) == ("x" * 12, "")


def test_xml_with_a_doctype_is_refused() -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>'
    with pytest.raises(InvalidBodyError):
        xml_dict(bomb)


def context() -> Context:
    return Context(
        connector=connector,
        connection={
            "corp_id": CORP_ID,
            "corp_secret": "s",
            "callback_token": TOKEN,
            "callback_aes_key": AES_KEY,
        },
    )


def inbound(query: str, body: bytes, method: str = "POST") -> InboundRequest:
    return InboundRequest(
        method, "https://hub/hooks/x?" + query, "/hooks/x", {}, dict(parse_qsl(query)), body
    )


def test_trigger_parses_filters_and_refuses_another_corp() -> None:
    trigger = connector.trigger("approval_status")
    query, body = signed_post(approval_xml("202611240001", 2))
    trigger.verify(context(), {}, inbound(query, body))
    [event] = trigger.parse(context(), {}, inbound(query, body))
    assert event.id == "202611240001:2"
    assert event.data["status"] == "approved" and event.data["sp_no"] == "202611240001"
    assert event.data["applyer_userid"] == "WangXiaoMing" and event.data["change_event"] == 2
    assert event.data["raw"]["SpRecord"]["Details"]["Speech"] == "同意"
    assert trigger.parse(context(), {"template_ids": ["TPL-OTHER"]}, inbound(query, body)) == []
    running_q, running_b = signed_post(approval_xml("202611240001", 1, change=1))
    assert trigger.parse(context(), {}, inbound(running_q, running_b)) == []  # not final: not reported
    [running] = trigger.parse(context(), {"statuses": ["approving"]}, inbound(running_q, running_b))
    assert running.id == "202611240001:1"
    other_q, other_b = signed_post("<xml><MsgType>event</MsgType><Event>change_contact</Event></xml>")
    assert trigger.parse(context(), {}, inbound(other_q, other_b)) == []

    suite_q, suite_b = signed_post(approval_xml("202611240001", 2), receive_id="wwsuite0001")
    with pytest.raises(SignatureError, match="another corp"):
        trigger.verify(context(), {}, inbound(suite_q, suite_b))
    ctx = context()
    ctx.connection.pop("callback_aes_key")
    with pytest.raises(SignatureError, match="no callback"):
        trigger.verify(ctx, {}, inbound(query, body))


# ---- through the real ingress -----------------------------------------------------------------------


def make_recipe(runtime: Runtime) -> str:
    add_wecom_connection(runtime)
    document = {
        "name": "approvals",
        "trigger": {"connector": "wecom", "trigger": "approval_status", "connection": "wecom", "config": {}},
        "steps": [],
    }
    with runtime.db.transaction() as session:
        recipe = save_recipe(session, runtime, document)
        url = hook_urls(session, runtime, recipe)["webhook_url"]
    return "/hooks/" + url.split("/hooks/")[1]


def events(runtime: Runtime) -> int:
    with runtime.db.transaction() as session:
        return int(session.scalar(select(func.count(Event.id))) or 0)


def test_url_verification_get_answers_the_bare_plaintext(runtime: Runtime, client: Any) -> None:
    path = make_recipe(runtime)
    answer = client.get(f"{path}?{verify_url_query('8207281302950193416')}")
    assert answer.status_code == 200 and answer.get_data() == b"8207281302950193416"
    forged = verify_url_query("8207281302950193416").replace("nonce=47744683", "nonce=47744684")
    assert client.get(f"{path}?{forged}").status_code == 401
    assert events(runtime) == 0


def test_approval_event_is_stored_once_and_acknowledged(runtime: Runtime, client: Any) -> None:
    path = make_recipe(runtime)
    query, body = signed_post(approval_xml("202611240001", 2))
    first = client.post(f"{path}?{query}", data=body, content_type="text/xml")
    assert first.status_code == 200 and first.get_data() == b""
    assert events(runtime) == 1
    with runtime.db.transaction() as session:
        stored = session.scalars(select(Event)).one()
        assert stored.payload["sp_no"] == "202611240001" and stored.payload["status"] == "approved"
    # WeCom re-sends (a timeout on its side, or a comment on the same status): no second event.
    query2, body2 = signed_post(approval_xml("202611240001", 2, change=10))
    assert client.post(f"{path}?{query2}", data=body2, content_type="text/xml").status_code == 200
    assert events(runtime) == 1


def test_forged_stale_and_unsigned_callbacks_get_401_and_store_nothing(runtime: Runtime, client: Any) -> None:
    path = make_recipe(runtime)
    query, body = signed_post(approval_xml("202611240001", 2))
    _, other_body = signed_post(approval_xml("202611240001", 3))
    cases = [
        (query, other_body),  # body swapped, signature of the original
        (query.replace("nonce=1372623149", "nonce=1"), body),  # query tampered
        ("timestamp=1&nonce=n", body),  # no signature
        signed_post(approval_xml("202611240001", 2), stamp=str(int(time.time()) - 3600)),  # replayed
        signed_post(approval_xml("202611240001", 2), token="another-token"),  # wrong Token
        signed_post(approval_xml("202611240001", 2), receive_id="ww-other-corp"),  # another corp
    ]
    for q, b in cases:
        answer = client.post(f"{path}?{q}", data=b, content_type="text/xml")
        assert answer.status_code == 401, (q, answer.get_data(as_text=True))
    assert client.post(f"{path}?{query}", data=b"<xml><Encrypt>", content_type="text/xml").status_code == 400
    assert events(runtime) == 0
