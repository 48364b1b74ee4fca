"""esign: v3 request signatures, the create-by-file and detail calls, error answers, and signed
callbacks (through the real ingress) with tampered, stale and foreign notifications refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
import responses

from connectors.esign import connector
from connectors.esign.signing import callback_signature, check_callback, path_and_parameters, string_to_sign
from hub.connections import create_connection
from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError, SignatureError

BASE = "https://openapi.esign.cn"
APP_ID = "7439054321"
SECRET = "esign-app-secret-0001"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def ctx(**extra: Any) -> Context:
    return Context(connector=connector, connection={"app_id": APP_ID, "app_secret": SECRET, **extra})


def expected_signature(text: str) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).digest()).decode()


def test_string_to_sign_layout_and_sorted_query() -> None:
    # METHOD, Accept, Content-MD5, Content-Type, Date (empty), then Headers (empty) + path.
    assert string_to_sign("post", "MD5==", "application/json; charset=UTF-8", "/v3/x") == (
        "POST\n*/*\nMD5==\napplication/json; charset=UTF-8\n\n/v3/x"
    )
    assert (
        path_and_parameters("https://h/v3/files?orgId=o1&fileName=%E5%90%88&a=")
        == "/v3/files?a&fileName=合&orgId=o1"
    )
    assert path_and_parameters("https://h/v3/sign-flow/abc/detail") == "/v3/sign-flow/abc/detail"


@responses.activate
def test_create_sign_flow_sends_a_signed_exact_body() -> None:
    route = responses.post(
        f"{BASE}/v3/sign-flow/create-by-file",
        json={"code": 0, "message": "成功", "data": {"signFlowId": "903f7ebee9411105b7f01d0b97a5ebf5"}},
    )
    out = connector.action("create_sign_flow").perform(
        ctx(notify_url="https://hub.example.com/hooks/abc"),
        {
            "title": "劳动合同",
            "files": [{"file_id": "f-1", "file_name": "合同.pdf"}],
            "signers": [
                {
                    "type": "person",
                    "psn_account": "13800000001",
                    "psn_name": "张三",
                    "fields": [{"page": 1, "x": 120, "y": 460}],
                },
                {
                    "type": "org",
                    "org_name": "霁林测试有限公司",
                    "psn_account": "13800000002",
                    "psn_name": "李四",
                    "fields": [{"page": "2", "x": 300.5, "y": 100, "style": 1, "custom_biz_num": "B-9"}],
                },
            ],
            "notice_types": "1",
        },
    )
    assert out == {"sign_flow_id": "903f7ebee9411105b7f01d0b97a5ebf5"}
    request = route.calls[0].request
    body = request.body
    assert json.loads(body) == {
        "docs": [{"fileId": "f-1", "fileName": "合同.pdf"}],
        "signFlowConfig": {
            "signFlowTitle": "劳动合同",
            "autoStart": True,
            "autoFinish": True,
            "notifyUrl": "https://hub.example.com/hooks/abc",
            "noticeConfig": {"noticeTypes": "1"},
        },
        "signers": [
            {
                "signConfig": {"signOrder": 1},
                "signFields": [
                    {
                        "fileId": "f-1",
                        "normalSignFieldConfig": {
                            "autoSign": False,
                            "freeMode": False,
                            "signFieldStyle": 1,
                            "signFieldPosition": {"positionPage": "1", "positionX": 120, "positionY": 460},
                        },
                    }
                ],
                "signerType": 0,
                "psnSignerInfo": {"psnAccount": "13800000001", "psnInfo": {"psnName": "张三"}},
            },
            {
                "signConfig": {"signOrder": 2},
                "signFields": [
                    {
                        "fileId": "f-1",
                        "normalSignFieldConfig": {
                            "autoSign": False,
                            "freeMode": False,
                            "signFieldStyle": 1,
                            "signFieldPosition": {"positionPage": "2", "positionX": 300.5, "positionY": 100},
                        },
                        "customBizNum": "B-9",
                    }
                ],
                "signerType": 1,
                "orgSignerInfo": {
                    "orgName": "霁林测试有限公司",
                    "transactorInfo": {"psnAccount": "13800000002", "psnInfo": {"psnName": "李四"}},
                },
            },
        ],
    }
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    headers = request.headers
    assert headers["X-Tsign-Open-App-Id"] == APP_ID and headers["X-Tsign-Open-Auth-Mode"] == "Signature"
    assert headers["Accept"] == "*/*" and headers["Content-Type"] == "application/json; charset=UTF-8"
    assert headers["Content-MD5"] == md5
    assert abs(int(headers["X-Tsign-Open-Ca-Timestamp"]) / 1000 - time.time()) < 60
    assert headers["X-Tsign-Open-Ca-Signature"] == expected_signature(
        f"POST\n*/*\n{md5}\napplication/json; charset=UTF-8\n\n/v3/sign-flow/create-by-file"
    )


@responses.activate
def test_get_sign_flow_signs_an_empty_body_and_maps_the_status() -> None:
    route = responses.get(
        f"{BASE}/v3/sign-flow/903f7ebee9411105b7f01d0b97a5ebf5/detail",
        json={
            "code": 0,
            "message": "成功",
            "data": {
                "signFlowStatus": 2,
                "signFlowDescription": "所有签署人完成签署",
                "signFlowCreateTime": 1729489000000,
                "signFlowFinishTime": 1729489875000,
                "signFlowConfig": {"signFlowTitle": "劳动合同"},
                "signers": [{"signerType": 0, "signResult": 2}],
                "docs": [{"fileId": "f-1"}],
            },
        },
    )
    out = connector.action("get_sign_flow").perform(
        ctx(), {"sign_flow_id": "903f7ebee9411105b7f01d0b97a5ebf5"}
    )
    assert out["status"] == "completed" and out["status_code"] == 2 and out["title"] == "劳动合同"
    assert out["finish_time"] == 1729489875000 and out["signers"] == [{"signerType": 0, "signResult": 2}]
    request = route.calls[0].request
    assert request.method == "GET" and request.body is None and "Content-MD5" not in request.headers
    assert request.headers["X-Tsign-Open-Ca-Signature"] == expected_signature(
        "GET\n*/*\n\napplication/json; charset=UTF-8\n\n/v3/sign-flow/903f7ebee9411105b7f01d0b97a5ebf5/detail"
    )


@responses.activate
def test_sandbox_base_url_is_used() -> None:
    route = responses.get(
        "https://smlopenapi.esign.cn/v3/sign-flow/f1/detail", json={"code": 0, "data": {"signFlowStatus": 1}}
    )
    out = connector.action("get_sign_flow").perform(
        ctx(base_url="https://smlopenapi.esign.cn"), {"sign_flow_id": "f1"}
    )
    assert out["status"] == "signing" and len(route.calls) == 1


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (
            200,
            {"code": 1435002, "message": "参数错误: 文件id不在签署流程中", "data": None},
            PermanentError,
            "e签宝: 参数错误: 文件id不在签署流程中 (code 1435002)",
        ),
        (
            401,
            {"code": 401, "message": "INVALID_SIGNATURE"},
            AuthError,
            "e签宝: INVALID_SIGNATURE (code 401) [HTTP 401]",
        ),
        (503, {"code": 503, "message": "服务繁忙"}, RetryableError, "e签宝: 服务繁忙 (code 503) [HTTP 503]"),
    ],
)
def test_error_answers(status: int, body: dict[str, Any], error: type, message: str) -> None:
    responses.post(f"{BASE}/v3/sign-flow/create-by-file", status=status, json=body)
    with pytest.raises(error) as caught:
        connector.action("create_sign_flow").perform(
            ctx(), {"title": "t", "files": ["f"], "signers": [{"psn_account": "138"}]}
        )
    assert caught.value.message == message and caught.value.vendor_code == str(body["code"])
    if error is PermanentError:
        assert not isinstance(caught.value, AuthError | RetryableError)


def test_inputs_are_checked_before_sending() -> None:
    with pytest.raises(PermanentError, match="page, x and y"):
        connector.action("create_sign_flow").perform(
            ctx(), {"title": "t", "files": ["f"], "signers": [{"psn_account": "1", "fields": [{"page": 1}]}]}
        )
    with pytest.raises(PermanentError, match="org_id or org_name"):
        connector.action("create_sign_flow").perform(
            ctx(), {"title": "t", "files": ["f"], "signers": [{"type": "org", "psn_account": "1"}]}
        )
    with pytest.raises(PermanentError, match="not a sign flow id"):
        connector.action("get_sign_flow").perform(ctx(), {"sign_flow_id": "../../v3/files"})


# ---- callbacks --------------------------------------------------------------------------------------

# The body of e签宝's callback-verification example (notify3 docs), notify URL "?orderNo=001&belong=pinjie".
DOC_BODY = (
    '{"action":"SIGN_MISSON_COMPLETE","timestamp":1729489875359,"signFlowId":"903f7ebee9411105b7f01d0b97a5ebf5",'
    '"customBizNum":"自定义编码001","signOrder":1,"operateTime":1729489875000,"signResult":2,'
    '"resultDescription":"签署完成","organization":{"orgId":"eb75d38e61111c8e964aa308edaa7904","orgName":"霁林测试有限公司"}}'
).encode()


def test_callback_signature_follows_the_documented_recipe() -> None:
    query = {"orderNo": "001", "belong": "pinjie"}
    stamp = "1729489875363"
    # Documented: timestamp + query values in key order ("pinjie" + "001") + raw body, hex HMAC-SHA256.
    by_hand = hmac.new(SECRET.encode(), stamp.encode() + b"pinjie001" + DOC_BODY, hashlib.sha256).hexdigest()
    assert callback_signature(SECRET, stamp, query, DOC_BODY) == by_hand
    now = 1729489875.363
    check_callback(
        SECRET, timestamp=stamp, signature=by_hand, query=query, body=DOC_BODY, max_age_s=600, now=now
    )
    check_callback(
        SECRET, timestamp=stamp, signature=by_hand.upper(), query=query, body=DOC_BODY, max_age_s=600, now=now
    )
    bad = [
        {
            "signature": by_hand,
            "query": query,
            "body": DOC_BODY.replace(b'"signResult":2', b'"signResult":4'),
        },
        {"signature": by_hand, "query": {"orderNo": "002", "belong": "pinjie"}, "body": DOC_BODY},
        {"signature": "00" * 32, "query": query, "body": DOC_BODY},
    ]
    for case in bad:
        with pytest.raises(SignatureError):
            check_callback(SECRET, timestamp=stamp, max_age_s=600, now=now, **case)
    with pytest.raises(SignatureError, match="window"):
        check_callback(
            SECRET,
            timestamp=stamp,
            signature=by_hand,
            query=query,
            body=DOC_BODY,
            max_age_s=600,
            now=now + 3600,
        )


def make_recipe(runtime: Runtime, config: dict[str, Any] | None = None) -> str:
    with runtime.db.transaction() as session:
        create_connection(
            session,
            runtime.registry,
            runtime.vault,
            name="esign",
            connector_id="esign",
            config={"app_id": APP_ID, "app_secret": SECRET},
        )
    document = {
        "name": "signed",
        "trigger": {
            "connector": "esign",
            "trigger": "sign_flow_status",
            "connection": "esign",
            "config": config or {},
        },
        "steps": [],
    }
    with runtime.db.transaction() as session:
        recipe = save_recipe(session, runtime, document)
        url = hook_urls(session, runtime, recipe)["webhook_url"]
    return "/hooks/" + url.split("/hooks/")[1]


def notify(
    client: Any,
    path: str,
    body: bytes,
    *,
    stamp: str | None = None,
    app_id: str = APP_ID,
    signature: str | None = None,
) -> Any:
    stamp = stamp or str(int(time.time() * 1000))
    headers = {
        "X-Tsign-Open-App-Id": app_id,
        "X-Tsign-Open-TIMESTAMP": stamp,
        "X-Tsign-Open-SIGNATURE-ALGORITHM": "hmac-sha256",
        "X-Tsign-Open-SIGNATURE": signature or callback_signature(SECRET, stamp, {}, body),
    }
    return client.post(path, data=body, headers=headers, content_type="application/json")


def test_callbacks_through_the_ingress(runtime: Runtime, client: Any) -> None:
    from sqlalchemy import func, select

    from hub.db.models import Event

    def count() -> int:
        with runtime.db.transaction() as session:
            return session.scalar(select(func.count(Event.id)))

    path = make_recipe(runtime)
    complete = json.dumps(
        {
            "action": "SIGN_FLOW_COMPLETE",
            "timestamp": 1729489900000,
            "signFlowId": "903f7ebee9411105b7f01d0b97a5ebf5",
            "signFlowStatus": 2,
            "statusDescription": "完成",
        },
        ensure_ascii=False,
    ).encode()
    first = notify(client, path, complete)
    assert first.status_code == 200 and first.get_json() == {"code": "200", "msg": "success"}
    again = notify(client, path, complete)  # e签宝 re-sends until it gets a 2xx
    assert again.status_code == 200 and count() == 1
    with runtime.db.transaction() as session:
        stored = session.scalars(select(Event)).one()
        assert stored.payload["status"] == "completed" and stored.payload["sign_flow_id"].startswith("903f7")
    assert notify(client, path, DOC_BODY).status_code == 200 and count() == 2
    other = json.dumps({"action": "SIGN_FLOW_EXPIRE_REMIND", "signFlowId": "x"}).encode()
    assert notify(client, path, other).status_code == 200 and count() == 2  # acknowledged, not a run

    stale = str(int((time.time() - 3600) * 1000))
    refused = [
        notify(
            client,
            path,
            complete.replace(b'"signFlowStatus": 2', b'"signFlowStatus": 7'),
            signature=callback_signature(SECRET, str(int(time.time() * 1000)), {}, complete),
        ),
        notify(client, path, complete, stamp=stale),
        notify(client, path, complete, app_id="someone-else"),
        notify(client, path, complete, signature="not-hex"),
    ]
    assert [r.status_code for r in refused] == [401, 401, 401, 401]
    assert count() == 2


# ---- sign_flow_status_poll --------------------------------------------------------------------------


class FakeList:
    """sign-flow-list paged by pageNum/pageSize with a total, as e签宝 documents it."""

    def __init__(self, flows: list[dict[str, Any]]) -> None:
        self.flows = flows
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        self.bodies.append(body)
        wanted = [f for f in self.flows if f["signFlowStatus"] in body["signFlowStatus"]]
        start = (body["pageNum"] - 1) * body["pageSize"]
        page = wanted[start : start + body["pageSize"]]
        answer = {"code": 0, "message": "成功", "data": {"total": len(wanted), "signFlowInfos": page}}
        return 200, {"Content-Type": "application/json"}, json.dumps(answer, ensure_ascii=False)


def flow(flow_id: str, status: int) -> dict[str, Any]:
    return {
        "signFlowId": flow_id,
        "signFlowStartTime": 1649409511000,
        "signFlowEndTime": None if status == 1 else 1649509511000,
        "signFlowStatus": status,
        "rescissionStatus": 0,
        "signFlowTitle": "xx企业劳动合同签署",
        "signers": [{"psnSigner": {"psnId": "c7e0", "psnAccount": {"accountMobile": "183****0101"}}}],
        "signFlowInitiator": {"orgInitiator": {"orgId": "55d2", "orgName": "xxx企业"}},
    }


@responses.activate
def test_poll_pages_emits_final_flows_once_and_keeps_them_in_the_cursor() -> None:
    fake = FakeList([flow("f1", 2), flow("f2", 1), flow("f3", 7), flow("f4", 3)])
    route = responses.add_callback(responses.POST, f"{BASE}/v3/sign-flow/sign-flow-list", callback=fake)
    trigger = connector.trigger("sign_flow_status_poll")
    result = trigger.poll(ctx(), {"page_size": 2, "window_days": 10}, None)
    assert [b["pageNum"] for b in fake.bodies] == [1, 2]
    first = fake.bodies[0]
    assert first["pageSize"] == 2 and first["signFlowStatus"] == [2, 3, 5, 7]
    assert first["signFlowStartTimeTo"] - first["signFlowStartTimeFrom"] == 10 * 86_400_000
    assert [i.id for i in result.items] == [
        "f1:SIGN_FLOW_COMPLETE:2",
        "f3:SIGN_FLOW_COMPLETE:7",
        "f4:SIGN_FLOW_COMPLETE:3",
    ]
    assert [i.data["status"] for i in result.items] == ["completed", "rejected", "revoked"]
    assert (
        result.items[0].data["action"] == "SIGN_FLOW_COMPLETE"
        and result.items[0].data["sign_flow_id"] == "f1"
    )
    request = route.calls[0].request
    md5 = base64.b64encode(hashlib.md5(request.body).digest()).decode()
    assert request.headers["X-Tsign-Open-Ca-Signature"] == expected_signature(
        f"POST\n*/*\n{md5}\napplication/json; charset=UTF-8\n\n/v3/sign-flow/sign-flow-list"
    )

    fake.flows.append(flow("f5", 5))
    fake.bodies.clear()
    again = trigger.poll(ctx(), {"page_size": 2, "window_days": 10}, result.cursor)
    assert [i.id for i in again.items] == ["f5:SIGN_FLOW_COMPLETE:5"]
    assert set(json.loads(again.cursor or "")["done"]) == {"f1", "f3", "f4", "f5"}


@responses.activate
def test_poll_empty_page_and_running_flows() -> None:
    fake = FakeList([])
    responses.add_callback(responses.POST, f"{BASE}/v3/sign-flow/sign-flow-list", callback=fake)
    trigger = connector.trigger("sign_flow_status_poll")
    empty = trigger.poll(ctx(), {}, None)
    assert empty.items == [] and len(fake.bodies) == 1 and json.loads(empty.cursor or "") == {"done": {}}
    fake.flows.append(flow("f9", 1))
    running = trigger.poll(ctx(), {"statuses": [1]}, empty.cursor)
    assert [i.id for i in running.items] == ["f9:SIGN_FLOW_STATUS:1"]
    assert (
        running.items[0].data["status"] == "signing" and running.items[0].data["action"] == "SIGN_FLOW_STATUS"
    )
    assert json.loads(running.cursor or "") == {"done": {}}  # not final: it is looked at again


@responses.activate
def test_rate_limit_is_retried_after_the_vendors_wait() -> None:
    responses.get(
        f"{BASE}/v3/sign-flow/f1/detail",
        status=429,
        json={"code": 429, "message": "请求过于频繁"},
        headers={"Retry-After": "30"},
    )
    with pytest.raises(RetryableError) as caught:
        connector.action("get_sign_flow").perform(ctx(), {"sign_flow_id": "f1"})
    assert caught.value.retry_after == 30.0 and caught.value.vendor_code == "429"
