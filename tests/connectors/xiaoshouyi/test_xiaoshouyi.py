"""xiaoshouyi against a faked Neocrm: password-grant token, xobjects calls, errors, XOQL scroll, poll."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses

from connectors.xiaoshouyi import connector
from hub.sdk.context import Context, MemoryTokenCache
from hub.sdk.errors import AuthError, PermanentError, RetryableError

API = "https://api.xiaoshouyi.com"
TOKEN = "https://login.xiaoshouyi.com/auc/oauth2/token"


def ctx(cache: Any = None, **extra: Any) -> Context:
    connection = {
        "client_id": "cid",
        "client_secret": "csecret",
        "redirect_uri": "https://hub.example/cb",
        "username": "api@example.com",
        "password": "pass",
        "security_token": "SECTOKEN",
        **extra,
    }
    return Context(connector=connector, connection=connection, cache=cache or MemoryTokenCache())


def token_route(*tokens: str) -> Any:
    """Issues `tokens` in turn (the last one again once they run out)."""
    issued = list(tokens)

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        value = issued.pop(0) if len(issued) > 1 else issued[0]
        return 200, {}, json.dumps({"access_token": value, "expires_in": 7200})

    return responses.add_callback(responses.POST, TOKEN, callback=answer)


@responses.activate
def test_password_grant_appends_the_security_token_and_create_posts_data() -> None:
    tok = token_route("at-1")
    route = responses.post(
        f"{API}/rest/data/v2.0/xobjects/account", json={"code": 200, "msg": "OK", "data": {"id": 98765}}
    )
    out = connector.action("create_object").perform(
        ctx(), {"object": "account", "fields": {"accountName": "某某公司"}}
    )
    assert out == {"id": "98765"}
    assert parse_qs(tok.calls[0].request.body) == {
        "grant_type": ["password"],
        "client_id": ["cid"],
        "client_secret": ["csecret"],
        "redirect_uri": ["https://hub.example/cb"],
        "username": ["api@example.com"],
        "password": ["passSECTOKEN"],
    }
    request = route.calls[0].request
    assert request.headers["Authorization"] == "Bearer at-1" and json.loads(request.body) == {
        "data": {"accountName": "某某公司"}
    }


@responses.activate
def test_update_patches_and_get_reads_one_record() -> None:
    token_route("at-1")
    patch = responses.patch(f"{API}/rest/data/v2.0/xobjects/opportunity/42", json={"code": 200})
    responses.get(
        f"{API}/rest/data/v2.0/xobjects/opportunity/42", json={"code": 200, "data": {"id": 42, "money": 1.5}}
    )
    connector.action("update_object").perform(
        ctx(), {"object": "opportunity", "id": 42, "fields": {"money": 2}}
    )
    assert json.loads(patch.calls[0].request.body) == {"data": {"money": 2}}
    assert (
        connector.action("get_object").perform(ctx(), {"object": "opportunity", "id": "42"})["money"] == 1.5
    )


@responses.activate
def test_a_401_renews_the_token_once_and_errors_keep_the_vendor_message() -> None:
    tok = token_route("at-1", "at-2")
    seen: list[str] = []

    def get(request: Any) -> tuple[int, dict[str, str], str]:
        seen.append(request.headers["Authorization"])
        if seen[-1] == "Bearer at-1":
            return 401, {}, json.dumps({"code": 401, "msg": "token expired"})
        return 200, {}, json.dumps({"code": 200, "data": {"id": 1}})

    url = f"{API}/rest/data/v2.0/xobjects/lead/1"
    responses.add_callback(responses.GET, url, callback=get)
    cache = MemoryTokenCache()
    connector.action("get_object").perform(ctx(cache), {"object": "lead", "id": 1})
    assert seen == ["Bearer at-1", "Bearer at-2"] and len(tok.calls) == 2
    responses.replace(responses.GET, url, status=400, json={"code": 1000002, "msg": "字段不存在"})
    with pytest.raises(PermanentError, match=r"字段不存在 \(code 1000002\)"):
        connector.action("get_object").perform(ctx(), {"object": "lead", "id": 1})
    responses.replace(responses.GET, url, status=503, body="")
    with pytest.raises(RetryableError):
        connector.action("get_object").perform(ctx(), {"object": "lead", "id": 1})


@responses.activate
def test_a_refused_login_is_an_auth_error() -> None:
    responses.post(
        TOKEN, status=400, json={"error": "invalid_grant", "error_description": "用户名或密码错误"}
    )
    with pytest.raises(AuthError, match="用户名或密码错误"):
        connector.test_connection(ctx())


@responses.activate
def test_query_follows_the_query_locator() -> None:
    token_route("at-1")
    forms: list[dict[str, list[str]]] = []

    def scroll(request: Any) -> tuple[int, dict[str, str], str]:
        forms.append(parse_qs(request.body))
        page = len(forms)
        data = {"records": [{"id": page}], "queryLocator": "loc-2" if page == 1 else None}
        return 200, {}, json.dumps({"code": 200, "data": data})

    responses.add_callback(responses.POST, f"{API}/rest/data/v2.0/query/xoqlScroll", callback=scroll)
    out = connector.action("query").perform(ctx(), {"xoql": "select id from account"})
    assert out == {"records": [{"id": 1}, {"id": 2}], "count": 2, "query_locator": None}
    assert forms[0] == {"xoql": ["select id from account"]} and forms[1]["queryLocator"] == ["loc-2"]


@responses.activate
def test_poll_asks_xoql_for_changes_since_the_cursor_in_ms() -> None:
    token_route("at-1")
    route = responses.post(
        f"{API}/rest/data/v2.0/query/xoqlScroll",
        json={"code": 200, "data": {"records": [{"id": 7, "updatedAt": 1795428300000}]}},
    )
    config = {"object": "opportunity", "fields": ["opportunityName", "money"], "where": "saleStageId = 3"}
    result = connector.trigger("object_changed").poll(ctx(), config, "2026-11-23T10:00:00.000Z")
    assert parse_qs(route.calls[0].request.body)["xoql"] == [
        "select id, updatedAt, opportunityName, money from opportunity "
        "where updatedAt >= 1795427880000 and (saleStageId = 3) order by updatedAt asc"
    ]
    assert [e.id for e in result.items] == ["7:1795428300000"] and result.cursor == "2026-11-23T10:05:00.000Z"
    with pytest.raises(PermanentError, match="apiKey"):
        connector.trigger("object_changed").poll(ctx(), {"object": "x; drop"}, None)


@responses.activate
def test_test_connection_fetches_a_fresh_token() -> None:
    tok = token_route("at-1")
    cache = MemoryTokenCache()
    assert connector.test_connection(ctx(cache)) == "销售易 issued an access token for api@example.com"
    assert connector.test_connection(ctx(cache)) and len(tok.calls) == 2  # never answered from the cache
