"""yonyou against a faked YonBIP: data-centre lookup, signed token, business calls, errors, paging, poll."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import responses

from connectors.yonyou import connector
from connectors.yonyou.auth import token_signature
from hub.sdk.context import Context, MemoryTokenCache
from hub.sdk.errors import AuthError, PermanentError, RetryableError

LOOKUP = "https://apigateway.yonyoucloud.com/open-auth/dataCenter/getGatewayAddress"
GATEWAY = "https://c2.yonyoucloud.com/iuap-api-gateway"
AUTH = "https://c2.yonyoucloud.com/iuap-api-auth"
TOKEN = f"{AUTH}/open-auth/selfAppAuth/base/v1/getAccessToken"
APP_KEY, APP_SECRET = "2b1f0c7e9a5d4e3f", "7f3c-9a1e-4b2d-8c6f-0e5a1b2c3d4e"


def ctx(cache: Any = None, **extra: Any) -> Context:
    connection = {"app_key": APP_KEY, "app_secret": APP_SECRET, "tenant_id": "t8f2k1", **extra}
    return Context(connector=connector, connection=connection, cache=cache or MemoryTokenCache())


def data_centre() -> Any:
    body = {"code": "00000", "message": "成功！", "data": {"gatewayUrl": GATEWAY, "tokenUrl": AUTH}}
    return responses.get(LOOKUP, json=body)


def token(value: str = "tok+1/=") -> Any:
    return responses.get(
        TOKEN, json={"code": "00000", "message": "成功！", "data": {"access_token": value, "expire": 7200}}
    )


def test_token_signature_follows_the_documented_algorithm() -> None:
    # No published vector with a known secret exists: derived from the documented algorithm
    # (HmacSHA256 keyed by the AppSecret over "appKey" + key + "timestamp" + ms, standard Base64).
    mac = hmac.new(APP_SECRET.encode(), f"appKey{APP_KEY}timestamp1700000000000".encode(), hashlib.sha256)
    assert token_signature(APP_KEY, APP_SECRET, "1700000000000") == base64.b64encode(mac.digest()).decode()


@responses.activate
def test_lookup_then_signed_token_then_a_call_with_the_token_url_encoded_once() -> None:
    lookup, tok = data_centre(), token()
    detail = responses.get(
        f"{GATEWAY}/yonbip/sd/voucherorder/detail", json={"code": "200", "data": {"id": "1"}}
    )
    out = connector.action("call_api").perform(
        ctx(), {"method": "GET", "path": "/yonbip/sd/voucherorder/detail", "params": {"id": "1"}}
    )
    assert out["data"] == {"id": "1"}
    assert parse_qs(urlsplit(lookup.calls[0].request.url).query) == {"tenantId": ["t8f2k1"]}
    raw_query = urlsplit(tok.calls[0].request.url).query
    sent = {k: v[0] for k, v in parse_qs(raw_query).items()}
    assert sent["appKey"] == APP_KEY and sent["signature"] == token_signature(
        APP_KEY, APP_SECRET, sent["timestamp"]
    )
    assert f"signature={quote(sent['signature'], safe='')}" in raw_query  # encoded exactly once
    call_query = urlsplit(detail.calls[0].request.url).query
    assert "access_token=tok%2B1%2F%3D" in call_query and parse_qs(call_query)["id"] == ["1"]


@responses.activate
def test_token_and_data_centre_are_cached_and_a_refused_token_is_renewed_once() -> None:
    lookup = data_centre()
    issued = iter(["tok-1", "tok-2"])
    tok = responses.add_callback(
        responses.GET,
        TOKEN,
        callback=lambda r: (
            200,
            {},
            json.dumps({"code": "00000", "data": {"access_token": next(issued), "expire": 7200}}),
        ),
    )
    seen: list[str] = []

    def detail(request: Any) -> tuple[int, dict[str, str], str]:
        seen.append(parse_qs(urlsplit(request.url).query)["access_token"][0])
        if seen[-1] == "tok-1" and len(seen) > 2:
            return 401, {}, json.dumps({"code": "401", "message": "token 已失效"})
        return 200, {}, json.dumps({"code": "200", "data": {}})

    responses.add_callback(responses.GET, f"{GATEWAY}/yonbip/x/detail", callback=detail)
    cache = MemoryTokenCache()
    for _ in range(3):
        connector.action("call_api").perform(ctx(cache), {"method": "GET", "path": "/yonbip/x/detail"})
    assert seen == ["tok-1", "tok-1", "tok-1", "tok-2"] and len(tok.calls) == 2 and len(lookup.calls) == 1


@responses.activate
def test_refused_app_credentials_are_an_auth_error_with_the_vendor_message() -> None:
    data_centre()
    responses.get(TOKEN, json={"code": "1090003500065", "message": "签名错误"})
    with pytest.raises(AuthError, match=r"签名错误 \(code 1090003500065\)"):
        connector.test_connection(ctx())


@responses.activate
def test_business_errors_map_to_auth_permanent_and_retryable() -> None:
    data_centre(), token()
    route = f"{GATEWAY}/yonbip/sd/voucherorder/singleSave"
    inputs = {"record": {"salesOrgId": "o1"}}
    responses.post(route, json={"code": "310037", "message": "该应用未授权此API"})
    with pytest.raises(AuthError, match="310037"):
        connector.action("save_sales_order").perform(ctx(), inputs)
    responses.replace(responses.POST, route, json={"code": "999", "message": "客户不能为空"})
    with pytest.raises(PermanentError, match=r"客户不能为空 \(code 999\)") as failed:
        connector.action("save_sales_order").perform(ctx(), inputs)
    assert not isinstance(failed.value, RetryableError | AuthError)
    responses.replace(responses.POST, route, status=503, json={"code": "503", "message": "busy"})
    with pytest.raises(RetryableError):
        connector.action("save_sales_order").perform(ctx(), inputs)


@responses.activate
def test_sales_order_save_sends_a_stable_resubmit_check_key() -> None:
    data_centre(), token()
    route = responses.post(
        f"{GATEWAY}/yonbip/sd/voucherorder/singleSave",
        json={"code": "200", "message": "操作成功", "data": {"id": 2291507369660672, "code": "UO-1"}},
    )
    step = Context(connector=connector, connection=ctx().connection, idempotency_key="run-7:order")
    inputs = {"record": {"salesOrgId": "o1", "agentId": "C0001", "orderPrices!currency": "CNY"}}
    out = connector.action("save_sales_order").perform(step, inputs)
    connector.action("save_sales_order").perform(step, inputs)
    assert out == {"id": "2291507369660672", "code": "UO-1", "data": {"id": 2291507369660672, "code": "UO-1"}}
    first, second = (json.loads(c.request.body)["data"] for c in route.calls)
    assert first == second and len(first["resubmitCheckKey"]) == 32 and first["_status"] == "Insert"
    assert connector.action("save_sales_order").repeat_safe


@responses.activate
def test_customer_and_receivable_saves_use_their_paths_and_update_with_an_id() -> None:
    data_centre(), token()
    customer = responses.post(
        f"{GATEWAY}/yonbip/digitalModel/merchant/save", json={"code": "200", "data": {"id": "c1"}}
    )
    receivable = responses.post(
        f"{GATEWAY}/yonbip/fi/oar/save", json={"code": "200", "data": [{"id": "r1", "code": "AR1"}]}
    )
    connector.action("save_customer").perform(ctx(), {"record": {"id": "c1", "name": {"zh_CN": "甲"}}})
    assert json.loads(customer.calls[0].request.body)["data"]["_status"] == "Update"
    out = connector.action("save_receivable").perform(ctx(), {"record": {"oriSum": 12000.5}})
    assert out["id"] == "r1" and out["code"] == "AR1" and len(receivable.calls) == 1


@responses.activate
def test_query_pages_by_page_index_until_the_page_count() -> None:
    data_centre(), token()
    bodies: list[dict[str, Any]] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        bodies.append(json.loads(request.body))
        index = bodies[-1]["pageIndex"]
        rows = [{"id": f"{index}-{n}"} for n in range(2 if index < 3 else 1)]
        return (
            200,
            {},
            json.dumps({"code": "200", "data": {"pageIndex": index, "pageCount": 3, "recordList": rows}}),
        )

    responses.add_callback(responses.POST, f"{GATEWAY}/yonbip/sd/voucherorder/list", callback=answer)
    out = connector.action("query").perform(ctx(), {"conditions": {"isSum": False}, "page_size": 2})
    assert out["count"] == 5 and out["next_page"] is None
    assert [b["pageIndex"] for b in bodies] == [1, 2, 3] and bodies[0] == {
        "isSum": False,
        "pageIndex": 1,
        "pageSize": 2,
    }
    bodies.clear()
    out = connector.action("query").perform(ctx(), {"page_size": 2, "max_pages": 1})
    assert out["count"] == 2 and out["next_page"] == 2


@responses.activate
def test_query_that_finds_nothing_is_empty_not_an_error() -> None:
    data_centre(), token()
    responses.post(
        f"{GATEWAY}/yonbip/sd/voucherorder/list", json={"code": "118001", "message": "查询数据为空"}
    )
    assert connector.action("query").perform(ctx(), {})["count"] == 0


@responses.activate
def test_gateway_and_token_urls_on_the_connection_skip_the_lookup() -> None:
    lookup, _ = data_centre(), token()
    responses.post(
        f"{GATEWAY}/yonbip/sd/voucherorder/list",
        json={"code": "200", "data": {"recordList": [], "pageCount": 0}},
    )
    connector.action("query").perform(ctx(gateway_url=GATEWAY, token_url=AUTH, tenant_id=""), {})
    assert len(lookup.calls) == 0


@responses.activate
def test_poll_filters_on_pubts_in_server_time_oldest_first() -> None:
    data_centre(), token()
    route = responses.post(
        f"{GATEWAY}/yonbip/sd/voucherorder/list",
        json={
            "code": "200",
            "data": {"pageCount": 1, "recordList": [{"id": "o1", "pubts": "2026-11-20 10:05:00"}]},
        },
    )
    result = connector.trigger("document_changed").poll(ctx(), {}, "2026-11-20 10:00:00")
    body = json.loads(route.calls[0].request.body)
    assert body["simpleVOs"] == [{"field": "pubts", "op": "egt", "value1": "2026-11-20 09:58:00"}]
    assert body["queryOrders"] == [{"field": "pubts", "order": "asc"}] and body["pageIndex"] == 1
    assert [e.id for e in result.items] == [
        "o1:2026-11-20 10:05:00"
    ] and result.cursor == "2026-11-20 10:05:00"


@responses.activate
def test_test_connection_looks_up_the_data_centre_and_fetches_a_fresh_token() -> None:
    data_centre(), token()
    message = connector.test_connection(ctx())
    assert "issued an access token" in message and GATEWAY in message
