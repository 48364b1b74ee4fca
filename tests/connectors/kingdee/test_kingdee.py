"""Kingdee K3Cloud against a faked server: login and session reuse/renewal, every action, the poll."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import responses

from connectors.kingdee import connector
from hub.sdk.context import Context, MemoryTokenCache
from hub.sdk.errors import AuthError, PermanentError, RetryableError

BASE = "http://erp.example.com/k3cloud"
STUB = f"{BASE}/Kingdee.BOS.WebApi.ServicesStub"
LOGIN = f"{STUB}.AuthService.ValidateUser.common.kdsvc"
SAVE = f"{STUB}.DynamicFormService.Save.common.kdsvc"
QUERY = f"{STUB}.DynamicFormService.ExecuteBillQuery.common.kdsvc"
LOGIN_OK = {
    "Message": None,
    "MessageCode": "CheckPasswordPolicy",
    "LoginResultType": 1,
    "Context": {"UserName": "api", "SessionId": "s-body", "DataCenterName": "Demo"},
    "KDSVCSessionId": "kd-body",
    "IsSuccessByAPI": True,
}
SET_COOKIE = "kdservice-sessionid=kd-1; path=/, ASP.NET_SessionId=asp-1; path=/; HttpOnly"
COOKIE = "kdservice-sessionid=kd-1; ASP.NET_SessionId=asp-1"


def ctx(cache: MemoryTokenCache | None = None, **extra: Any) -> Context:
    connection = {"base_url": BASE, "acct_id": "62f8ff01e0b76e", "username": "api", "password": "pw", **extra}
    return Context(
        connector=connector, connection=connection, cache=cache or MemoryTokenCache(), connection_id=3
    )


def login_route(body: dict[str, Any] | None = None, cookie: str = SET_COOKIE) -> Any:
    return responses.post(LOGIN, json=body or LOGIN_OK, headers={"Set-Cookie": cookie})


def save_answer(ok: bool = True) -> dict[str, Any]:
    if ok:
        status = {
            "ErrorCode": 0,
            "IsSuccess": True,
            "Errors": [],
            "SuccessEntitys": [{"Id": 100012, "Number": "AR00000123", "DIndex": 0}],
            "SuccessMessages": [],
            "MsgCode": 0,
        }
        return {
            "Result": {"ResponseStatus": status, "Id": 100012, "Number": "AR00000123", "NeedReturnData": [{}]}
        }
    status = {
        "ErrorCode": 500,
        "IsSuccess": False,
        "Errors": [{"FieldName": "FCUSTOMERID", "Message": "字段“客户”是必填项", "DIndex": 0}],
        "SuccessEntitys": [],
        "SuccessMessages": [],
        "MsgCode": 11,
    }
    return {"Result": {"ResponseStatus": status}}


SESSION_LOST = {
    "Result": {
        "ResponseStatus": {
            "ErrorCode": 500,
            "IsSuccess": False,
            "Errors": [{"FieldName": None, "Message": "会话信息已丢失，请重新登录", "DIndex": 0}],
            "SuccessEntitys": [],
            "SuccessMessages": [],
            "MsgCode": 1,
        }
    }
}


@responses.activate
def test_save_logs_in_then_posts_formid_and_data_with_the_session_cookie() -> None:
    login = login_route()
    save = responses.post(SAVE, json=save_answer())
    line = {"FMATERIALID": {"FNumber": "M01"}, "FPriceQty": 2, "FTaxPrice": Decimal("1234.5600")}
    model = {
        "FBillTypeID": {"FNUMBER": "YSD01_SYS"},
        "FCUSTOMERID": {"FNumber": "CUST0001"},
        "FEntityDetail": [line],
    }
    out = connector.action("save").perform(ctx(), {"form_id": "AR_receivable", "model": model})
    assert json.loads(login.calls[0].request.body) == {
        "acctID": "62f8ff01e0b76e",
        "username": "api",
        "password": "pw",
        "lcid": 2052,
    }
    request = save.calls[0].request
    assert request.method == "POST" and request.headers["Cookie"] == COOKIE
    assert request.headers["Content-Type"] == "application/json"
    assert request.body == (
        b'{"formid":"AR_receivable","data":{"NeedUpDateFields":[],"NeedReturnFields":[],"IsDeleteEntry":true,'
        b'"IsAutoSubmitAndAudit":false,"Model":{"FBillTypeID":{"FNUMBER":"YSD01_SYS"},"FCUSTOMERID":'
        b'{"FNumber":"CUST0001"},"FEntityDetail":[{"FMATERIALID":{"FNumber":"M01"},"FPriceQty":2,'
        b'"FTaxPrice":1234.5600}]}}}'
    )
    assert out["id"] == 100012 and out["number"] == "AR00000123" and len(out["entities"]) == 1


@responses.activate
def test_session_is_cached_and_a_lost_session_logs_in_once_more_and_retries() -> None:
    login = login_route()
    save = responses.post(SAVE, json=save_answer())
    cache = MemoryTokenCache()
    connector.action("save").perform(ctx(cache), {"form_id": "AR_receivable", "model": {}})
    connector.action("save").perform(ctx(cache), {"form_id": "AR_receivable", "model": {}})
    assert len(login.calls) == 1 and len(save.calls) == 2
    responses.replace(responses.POST, SAVE, json=SESSION_LOST)
    responses.add(responses.POST, SAVE, json=save_answer())
    out = connector.action("save").perform(ctx(cache), {"form_id": "AR_receivable", "model": {}})
    assert out["id"] == 100012 and len(login.calls) == 2


@responses.activate
def test_session_lost_again_after_a_fresh_login_is_an_auth_error() -> None:
    login_route()
    responses.post(SAVE, json=SESSION_LOST)
    with pytest.raises(AuthError, match="会话信息已丢失") as err:
        connector.action("save").perform(ctx(), {"form_id": "AR_receivable", "model": {}})
    assert err.value.vendor_code == "1"
    assert len([c for c in responses.calls if c.request.url == LOGIN]) == 2


@responses.activate
def test_save_failure_names_field_and_message_and_is_permanent() -> None:
    login_route()
    responses.post(SAVE, json=save_answer(ok=False))
    with pytest.raises(PermanentError) as err:
        connector.action("save").perform(ctx(), {"form_id": "AR_receivable", "model": {}})
    assert not isinstance(err.value, RetryableError | AuthError)
    assert err.value.message == "Kingdee Save: FCUSTOMERID: 字段“客户”是必填项 (MsgCode 11, ErrorCode 500)"


@responses.activate
def test_network_lock_and_call_limit_are_retryable() -> None:
    login_route()
    for code in (13, 14):
        answer = save_answer(ok=False)
        answer["Result"]["ResponseStatus"]["MsgCode"] = code
        responses.replace(responses.POST, SAVE, json=answer) if code == 14 else responses.post(
            SAVE, json=answer
        )
        with pytest.raises(RetryableError) as err:
            connector.action("save").perform(ctx(), {"form_id": "AR_receivable", "model": {}})
        assert err.value.vendor_code == str(code)


@responses.activate
def test_wrong_password_is_an_auth_error_with_the_servers_message() -> None:
    login_route({"Message": "用户名或密码错误！", "LoginResultType": 0, "IsSuccessByAPI": False})
    with pytest.raises(AuthError, match="用户名或密码错误") as err:
        connector.action("query").perform(ctx(), {"form_id": "BD_Customer", "field_keys": "FNumber"})
    assert err.value.vendor_code == "0"


@responses.activate
def test_app_secret_login_and_session_id_from_the_body_when_no_cookie_is_set() -> None:
    route = responses.post(f"{STUB}.AuthService.LoginByAppSecret.common.kdsvc", json=LOGIN_OK)
    query = responses.post(QUERY, json=[])
    context = ctx(login_mode="app_secret", app_id="233456_xyz", app_secret="s3cr3t", lcid=1033)
    connector.action("query").perform(context, {"form_id": "BD_Customer", "field_keys": ["FNumber"]})
    assert json.loads(route.calls[0].request.body) == {
        "acctID": "62f8ff01e0b76e",
        "username": "api",
        "appId": "233456_xyz",
        "appSecret": "s3cr3t",
        "lcid": 1033,
    }
    assert query.calls[0].request.headers["Cookie"] == "kdservice-sessionid=kd-body"


@responses.activate
@pytest.mark.parametrize(("action", "service"), [("submit", "Submit"), ("audit", "Audit")])
def test_submit_and_audit_send_numbers_or_comma_joined_ids(action: str, service: str) -> None:
    login_route()
    route = responses.post(f"{STUB}.DynamicFormService.{service}.common.kdsvc", json=save_answer())
    out = connector.action(action).perform(ctx(), {"form_id": "AR_receivable", "numbers": ["AR00000123"]})
    assert json.loads(route.calls[0].request.body) == {
        "formid": "AR_receivable",
        "data": {"Numbers": ["AR00000123"]},
    }
    connector.action(action).perform(ctx(), {"form_id": "AR_receivable", "ids": [100012, "100013"]})
    assert json.loads(route.calls[1].request.body) == {
        "formid": "AR_receivable",
        "data": {"Ids": "100012,100013"},
    }
    assert out == {
        "entities": save_answer()["Result"]["ResponseStatus"]["SuccessEntitys"],
        "ids": [100012],
        "numbers": ["AR00000123"],
    }
    with pytest.raises(PermanentError, match="numbers or ids"):
        connector.action(action).perform(ctx(), {"form_id": "AR_receivable"})


@responses.activate
def test_query_sends_execute_bill_query_and_maps_rows_to_records() -> None:
    login_route()
    route = responses.post(
        QUERY,
        body='[[100012,"AR00000123",1234.50,"C"],[100013,"AR00000124",0.10,"B"]]',
        content_type="application/json",
    )
    out = connector.action("query").perform(
        ctx(),
        {
            "form_id": "AR_receivable",
            "field_keys": "FID, FBillNo,FALLAMOUNTFOR,FDocumentStatus",
            "filter_string": "FDocumentStatus='C'",
            "order_string": "FID ASC",
            "start_row": 2000,
            "limit": 500,
        },
    )
    assert json.loads(route.calls[0].request.body) == {
        "data": {
            "FormId": "AR_receivable",
            "FieldKeys": "FID,FBillNo,FALLAMOUNTFOR,FDocumentStatus",
            "FilterString": "FDocumentStatus='C'",
            "OrderString": "FID ASC",
            "TopRowCount": 0,
            "StartRow": 2000,
            "Limit": 500,
            "SubSystemId": "",
        }
    }
    assert out["count"] == 2 and out["records"][0]["FALLAMOUNTFOR"] == Decimal("1234.50")
    assert str(out["rows"][1][2]) == "0.10"


@responses.activate
def test_query_error_comes_nested_in_rows_and_is_reported() -> None:
    login_route()
    error = {"FieldName": None, "Message": "元数据中标识为FXXX的字段不存在", "DIndex": 0}
    status = {"ErrorCode": 500, "IsSuccess": False, "MsgCode": 9, "Errors": [error]}
    nested = [[{"Result": {"ResponseStatus": status}}]]
    responses.post(QUERY, json=nested)
    with pytest.raises(PermanentError, match="元数据中标识为FXXX的字段不存在") as err:
        connector.action("query").perform(ctx(), {"form_id": "AR_receivable", "field_keys": "FXXX"})
    assert err.value.vendor_code == "9"


POLL = connector.trigger("bill_changed")
CONFIG = {
    "form_id": "AR_receivable",
    "field_keys": ["FBillNo", "FDocumentStatus", "FALLAMOUNTFOR"],
    "filter_string": "FDocumentStatus = 'C'",
    "page_size": 2,
    "overlap_s": 300,
}


@responses.activate
def test_poll_filters_by_modify_date_minus_overlap_pages_and_dedupes() -> None:
    login_route()
    route = responses.post(
        QUERY,
        body='[[1,"2026-11-20T10:00:00","AR1","C",100.00],[2,"2026-11-20T10:00:05.12","AR2","C",0.10]]',
        content_type="application/json",
    )
    responses.post(
        QUERY, body='[[2,"2026-11-20T10:00:05.12","AR2","C",0.10]]', content_type="application/json"
    )
    result = POLL.poll(ctx(), CONFIG, "2026-11-20T10:00:00.000")
    first = json.loads(route.calls[0].request.body)["data"]
    assert first == {
        "FormId": "AR_receivable",
        "FieldKeys": "FID,FModifyDate,FBillNo,FDocumentStatus,FALLAMOUNTFOR",
        "FilterString": "(FModifyDate >= '2026-11-20 09:55:00') AND (FDocumentStatus = 'C')",
        "OrderString": "FModifyDate ASC, FID ASC",
        "TopRowCount": 0,
        "StartRow": 0,
        "Limit": 2,
        "SubSystemId": "",
    }
    assert json.loads(responses.calls[2].request.body)["data"]["StartRow"] == 2
    assert [e.id for e in result.items] == ["1:2026-11-20T10:00:00", "2:2026-11-20T10:00:05.120000"]
    assert result.items[1].data["FALLAMOUNTFOR"] == Decimal("0.10")
    assert result.items[0].data["_form_id"] == "AR_receivable"
    assert result.cursor == "2026-11-20T10:00:05.120"


@responses.activate
def test_empty_poll_keeps_cursor_and_first_poll_starts_at_backfill_in_server_time() -> None:
    login_route()
    route = responses.post(QUERY, json=[])
    result = POLL.poll(ctx(), {**CONFIG, "filter_string": ""}, "2026-11-20T10:00:00.000")
    assert result.items == [] and result.cursor == "2026-11-20T10:00:00.000"
    assert (
        json.loads(route.calls[0].request.body)["data"]["FilterString"]
        == "FModifyDate >= '2026-11-20 09:55:00'"
    )
    context = ctx()
    context.since = datetime(2026, 1, 1, tzinfo=UTC)  # 08:00 in Shanghai
    first = POLL.poll(context, {**CONFIG, "overlap_s": 0}, None)
    assert (
        "FModifyDate >= '2026-01-01 08:00:00'"
        in json.loads(responses.calls[-1].request.body)["data"]["FilterString"]
    )
    assert first.cursor == "2026-01-01T08:00:00.000"


@responses.activate
def test_same_bill_modified_again_is_a_new_item_and_an_older_row_never_moves_the_cursor_back() -> None:
    login_route()
    responses.post(QUERY, json=[[1, "2026-11-20T09:58:00", "AR1", "C", 1]])
    result = POLL.poll(ctx(), CONFIG, "2026-11-20T10:00:00.000")
    assert result.items[0].id == "1:2026-11-20T09:58:00" and result.cursor == "2026-11-20T10:00:00.000"


@responses.activate
def test_connection_test_logs_in_afresh_and_an_edited_connection_gets_its_own_session() -> None:
    login = login_route()
    cache = MemoryTokenCache()
    assert "api" in connector.test_connection(ctx(cache)) and len(login.calls) == 1
    responses.post(QUERY, json=[])
    connector.action("query").perform(ctx(cache), {"form_id": "BD_Customer", "field_keys": "FNumber"})
    assert len(login.calls) == 1  # the test's session is reused
    connector.action("query").perform(
        ctx(cache, username="other"), {"form_id": "BD_Customer", "field_keys": "FNumber"}
    )
    assert len(login.calls) == 2


@responses.activate
def test_a_new_recipes_cursor_is_the_servers_date_in_its_local_time() -> None:
    """Before: the first cursor was the hub's now, so bills a server clock behind it stamped were lost."""
    login_route()
    responses.post(QUERY, json=[], headers={"Date": "Mon, 23 Nov 2026 10:00:00 GMT"})
    assert POLL.poll(ctx(), CONFIG, None).cursor == "2026-11-23T18:00:00.000"  # Asia/Shanghai
