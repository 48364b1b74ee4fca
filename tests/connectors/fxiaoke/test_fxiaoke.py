"""fxiaoke against a faked 纷享销客 open API: token trade and renewal, acting user, CRM calls, poll."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from connectors.fxiaoke import connector
from hub.sdk.context import Context, MemoryTokenCache
from hub.sdk.errors import AuthError, PermanentError, RetryableError

BASE = "https://open.fxiaoke.com"
TOKEN = f"{BASE}/cgi/corpAccessToken/get/V2"
USER = "FSUID_CBF443F942C4ABE8A46BE859066A5CD1"


def ctx(cache: Any = None, **extra: Any) -> Context:
    connection = {
        "app_id": "FSAID_1",
        "app_secret": "sec",
        "permanent_code": "perm",
        "current_open_user_id": USER,
    }
    return Context(connector=connector, connection={**connection, **extra}, cache=cache or MemoryTokenCache())


def token_route(*tokens: str) -> Any:
    issued = iter(tokens)
    return responses.add_callback(
        responses.POST,
        TOKEN,
        callback=lambda r: (
            200,
            {},
            json.dumps(
                {
                    "errorCode": 0,
                    "errorMessage": "success",
                    "corpAccessToken": next(issued),
                    "corpId": "FSCID_9",
                    "expiresIn": 7200,
                }
            ),
        ),
    )


@responses.activate
def test_create_trades_the_permanent_code_for_a_token_and_sends_the_documented_body() -> None:
    tok = token_route("cat-1")
    route = responses.post(
        f"{BASE}/cgi/crm/v2/data/create", json={"errorCode": 0, "errorMessage": "OK", "dataId": "5ea6cd"}
    )
    out = connector.action("create_object").perform(
        ctx(), {"object": "LeadsObj", "fields": {"name": "张三", "company": "某某"}}
    )
    assert out == {"id": "5ea6cd"}
    assert json.loads(tok.calls[0].request.body) == {
        "appId": "FSAID_1",
        "appSecret": "sec",
        "permanentCode": "perm",
    }
    assert json.loads(route.calls[0].request.body) == {
        "corpAccessToken": "cat-1",
        "corpId": "FSCID_9",
        "currentOpenUserId": USER,
        "data": {
            "object_data": {"name": "张三", "company": "某某", "dataObjectApiName": "LeadsObj"},
            "triggerApprovalFlow": False,
            "triggerWorkFlow": False,
        },
    }


@responses.activate
def test_custom_objects_use_the_custom_path_and_update_carries_the_id() -> None:
    token_route("cat-1")
    route = responses.post(f"{BASE}/cgi/crm/custom/v2/data/update", json={"errorCode": 0})
    connector.action("update_object").perform(
        ctx(), {"object": "Contract__c", "id": "r1", "fields": {"field_x__c": 1}}
    )
    assert json.loads(route.calls[0].request.body)["data"]["object_data"] == {
        "field_x__c": 1,
        "dataObjectApiName": "Contract__c",
        "_id": "r1",
    }


@responses.activate
def test_token_20016_is_renewed_once_and_other_codes_fail_with_trace_id() -> None:
    tok = token_route("cat-1", "cat-2")
    seen: list[str] = []

    def get(request: Any) -> tuple[int, dict[str, str], str]:
        seen.append(json.loads(request.body)["corpAccessToken"])
        if seen[-1] == "cat-1":
            return (
                200,
                {},
                json.dumps({"errorCode": 20016, "errorMessage": "corpAccessToken无效", "traceId": "t1"}),
            )
        return 200, {}, json.dumps({"errorCode": 0, "data": {"_id": "a1", "name": "甲"}})

    responses.add_callback(responses.POST, f"{BASE}/cgi/crm/v2/data/get", callback=get)
    cache = MemoryTokenCache()
    assert (
        connector.action("get_object").perform(ctx(cache), {"object": "AccountObj", "id": "a1"})["name"]
        == "甲"
    )
    assert seen == ["cat-1", "cat-2"] and len(tok.calls) == 2
    responses.replace(
        responses.POST,
        f"{BASE}/cgi/crm/v2/data/get",
        json={"errorCode": 30001, "errorMessage": "数据不存在", "traceId": "E-O.x"},
    )
    with pytest.raises(PermanentError, match=r"数据不存在 \(code 30001\)") as failed:
        connector.action("get_object").perform(ctx(cache), {"object": "AccountObj", "id": "zz"})
    assert failed.value.details == {"traceId": "E-O.x"}
    responses.replace(responses.POST, f"{BASE}/cgi/crm/v2/data/get", status=502, body="bad gateway")
    with pytest.raises(RetryableError):
        connector.action("get_object").perform(ctx(cache), {"object": "AccountObj", "id": "zz"})


@responses.activate
def test_refused_app_credentials_are_an_auth_error() -> None:
    responses.post(TOKEN, json={"errorCode": 20001, "errorMessage": "appId或appSecret错误"})
    with pytest.raises(AuthError, match="appId或appSecret错误"):
        connector.test_connection(ctx())


@responses.activate
def test_acting_user_is_looked_up_once_by_mobile() -> None:
    token_route("cat-1")
    lookup = responses.post(
        f"{BASE}/cgi/user/getByMobile", json={"errorCode": 0, "empList": [{"openUserId": "FSUID_M"}]}
    )
    route = responses.post(
        f"{BASE}/cgi/crm/v2/data/query", json={"errorCode": 0, "data": {"dataList": [], "total": 0}}
    )
    cache = MemoryTokenCache()
    for _ in range(2):
        connector.action("query_objects").perform(
            ctx(cache, current_open_user_id="", operator_mobile="13800000000"), {"object": "OpportunityObj"}
        )
    assert len(lookup.calls) == 1 and json.loads(lookup.calls[0].request.body)["mobile"] == "13800000000"
    assert json.loads(route.calls[1].request.body)["currentOpenUserId"] == "FSUID_M"


@responses.activate
def test_query_pages_by_offset_up_to_the_total() -> None:
    token_route("cat-1")
    infos: list[dict[str, Any]] = []

    def query(request: Any) -> tuple[int, dict[str, str], str]:
        info = json.loads(request.body)["data"]["search_query_info"]
        infos.append(info)
        rows = [{"_id": f"o{info['offset'] + n}"} for n in range(min(info["limit"], 5 - info["offset"]))]
        return 200, {}, json.dumps({"errorCode": 0, "data": {"dataList": rows, "total": 5}})

    responses.add_callback(responses.POST, f"{BASE}/cgi/crm/v2/data/query", callback=query)
    flt = [{"field_name": "sales_stage", "field_values": ["4"], "operator": "EQ"}]
    out = connector.action("query_objects").perform(
        ctx(), {"object": "OpportunityObj", "filters": flt, "page_size": 2}
    )
    assert out["count"] == 5 and out["total"] == 5 and out["next_offset"] is None
    assert [i["offset"] for i in infos] == [0, 2, 4] and infos[0]["filters"] == flt


@responses.activate
def test_poll_filters_on_last_modified_time_in_ms_oldest_first() -> None:
    token_route("cat-1")
    route = responses.post(
        f"{BASE}/cgi/crm/v2/data/query",
        json={
            "errorCode": 0,
            "data": {"dataList": [{"_id": "o1", "last_modified_time": 1795428300000}], "total": 1},
        },
    )
    result = connector.trigger("object_changed").poll(
        ctx(), {"object": "OpportunityObj"}, "2026-11-23T10:00:00.000Z"
    )
    info = json.loads(route.calls[0].request.body)["data"]["search_query_info"]
    assert info["filters"] == [
        {"field_name": "last_modified_time", "field_values": [1795427880000], "operator": "GTE"}
    ]
    assert info["orders"] == [{"fieldName": "last_modified_time", "isAsc": True}]
    assert [e.id for e in result.items] == [
        "o1:1795428300000"
    ] and result.cursor == "2026-11-23T10:05:00.000Z"


@responses.activate
def test_test_connection_fetches_a_token_and_names_the_acting_employee() -> None:
    token_route("cat-1")
    assert (
        connector.test_connection(ctx())
        == f"纷享销客 issued a corpAccessToken for company FSCID_9; acting as {USER}"
    )
