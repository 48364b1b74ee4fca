"""zoho_crm: every data centre's accounts server and API domain, the Zoho-oauthtoken header, record
writes with Zoho's per-record answers, search/COQL/notes, watch-channel notifications (token and
channel checked) and the COQL poll."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from connectors.zoho_crm import connector
from connectors.zoho_crm.api import DATA_CENTRES
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError, SignatureError
from hub.sdk.oauth import authorize_url
from hub.sdk.testing import ConnectorContract
from hub.sdk.types import InboundRequest

US = "https://www.zohoapis.com"


class TestZohoContract(ConnectorContract):
    connector_id = "zoho_crm"


def test_connection_form_fields_have_titles_and_descriptions() -> None:
    properties = connector.connection_schema()["properties"]
    for name, spec in properties.items():
        if name != "expires_at":  # read-only, filled by the hub
            assert spec.get("title") and spec.get("description"), name
    assert {"data_center", "api_domain", "accounts_url", "base_url"} <= connector.host_fields()


def ctx(**connection: Any) -> Context:
    base = {
        "client_id": "1000.CID",
        "client_secret": "csec",
        "access_token": "at-1",
        "expires_at": time.time() + 3600,
    }
    return Context(connector=connector, connection={**base, **connection})


@responses.activate
@pytest.mark.parametrize("centre", list(DATA_CENTRES))
def test_each_data_centre_refreshes_at_its_accounts_server_and_calls_its_api_domain(centre: str) -> None:
    accounts, api = DATA_CENTRES[centre]
    token = responses.post(
        f"{accounts}/oauth/v2/token",
        json={"access_token": "at-2", "api_domain": api, "token_type": "Bearer", "expires_in": 3600},
    )
    record = responses.get(
        f"{api}/crm/v7/Deals/5725767000000524157",
        json={"data": [{"id": "5725767000000524157", "Stage": "Contract"}]},
    )
    context = ctx(data_center=centre, refresh_token="rt-1", expires_at=time.time() - 10)
    out = connector.action("get_record").perform(context, {"module": "Deals", "id": "5725767000000524157"})
    assert out["Stage"] == "Contract"
    form = parse_qs(token.calls[0].request.body)
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == ["rt-1"]
    assert record.calls[0].request.headers["Authorization"] == "Zoho-oauthtoken at-2"
    assert context.connection["api_domain"] == api


def test_consent_page_is_the_data_centres_with_offline_access() -> None:
    url = authorize_url(connector.auth, ctx(data_center="cn").connection, "https://hub/cb", "st")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://accounts.zoho.com.cn/oauth/v2/auth"
    query = parse_qs(parts.query)
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert query["scope"] == [
        "ZohoCRM.modules.ALL,ZohoCRM.coql.READ,ZohoCRM.notifications.ALL,ZohoCRM.settings.fields.READ"
    ]


@responses.activate
def test_api_domain_from_the_token_answer_wins_over_the_default_and_an_explicit_base_url_over_both() -> None:
    eu = responses.get("https://www.zohoapis.eu/crm/v7/Deals/1", json={"data": [{"id": "1"}]})
    connector.action("get_record").perform(
        ctx(api_domain="https://www.zohoapis.eu", base_url=US), {"module": "Deals", "id": "1"}
    )
    stand_in = responses.get("http://127.0.0.1:9/crm/v7/Deals/1", json={"data": [{"id": "1"}]})
    context = ctx(api_domain="https://www.zohoapis.eu", base_url="http://127.0.0.1:9")
    context.allow_private_network = True
    connector.action("get_record").perform(context, {"module": "Deals", "id": "1"})
    assert len(eu.calls) == 1 and len(stand_in.calls) == 1


@responses.activate
def test_upsert_and_update_send_zohos_shapes_and_refused_records_fail_the_step() -> None:
    upsert = responses.post(
        f"{US}/crm/v7/Contacts/upsert",
        json={
            "data": [
                {
                    "code": "SUCCESS",
                    "duplicate_field": "Email",
                    "action": "update",
                    "details": {"id": "77"},
                    "status": "success",
                }
            ]
        },
    )
    out = connector.action("upsert_records").perform(
        ctx(),
        {
            "module": "Contacts",
            "records": [{"Last_Name": "Li", "Email": "li@acme.example"}],
            "duplicate_check_fields": ["Email"],
        },
    )
    assert out == {"records": [{"id": "77", "action": "update", "duplicate_field": "Email"}], "id": "77"}
    assert json.loads(upsert.calls[0].request.body) == {
        "data": [{"Last_Name": "Li", "Email": "li@acme.example"}],
        "trigger": [],
        "duplicate_check_fields": ["Email"],
    }
    responses.put(
        f"{US}/crm/v7/Deals/88",
        status=202,
        json={
            "data": [
                {
                    "code": "INVALID_DATA",
                    "details": {"api_name": "Stage"},
                    "message": "invalid data",
                    "status": "error",
                }
            ]
        },
    )
    with pytest.raises(PermanentError, match="field Stage") as raised:
        connector.action("update_record").perform(
            ctx(), {"module": "Deals", "id": "88", "fields": {"Stage": "Nope"}}
        )
    assert raised.value.vendor_code == "INVALID_DATA"
    with pytest.raises(PermanentError, match="module API name"):
        connector.action("update_record").perform(ctx(), {"module": "Deals/../x", "id": "88", "fields": {}})


@responses.activate
def test_http_errors_keep_zohos_code_and_message() -> None:
    route = f"{US}/crm/v7/coql"
    responses.post(
        route,
        status=401,
        json={"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"},
    )
    with pytest.raises(AuthError, match="invalid oauth token") as raised:
        connector.action("coql_query").perform(ctx(), {"query": "select id from Deals limit 1"})
    assert raised.value.vendor_code == "INVALID_TOKEN"
    responses.upsert(
        responses.POST,
        route,
        status=429,
        json={"code": "TOO_MANY_REQUESTS", "message": "slow down", "status": "error"},
    )
    with pytest.raises(RetryableError):
        connector.action("coql_query").perform(ctx(), {"query": "select id from Deals limit 1"})
    responses.upsert(
        responses.POST,
        route,
        status=400,
        json={"code": "SYNTAX_ERROR", "message": "error in select clause", "status": "error"},
    )
    with pytest.raises(PermanentError, match="select clause"):
        connector.action("coql_query").perform(ctx(), {"query": "selec id"})


@responses.activate
def test_search_coql_and_note() -> None:
    search = responses.get(
        f"{US}/crm/v7/Deals/search",
        json={"data": [{"id": "1", "Stage": "Contract"}], "info": {"more_records": True}},
    )
    out = connector.action("search_records").perform(
        ctx(), {"module": "Deals", "criteria": "(Stage:equals:Contract)"}
    )
    assert out == {"records": [{"id": "1", "Stage": "Contract"}], "count": 1, "more_records": True}
    assert parse_qs(urlsplit(search.calls[0].request.url).query)["criteria"] == ["(Stage:equals:Contract)"]
    responses.upsert(responses.GET, f"{US}/crm/v7/Deals/search", status=204)
    assert (
        connector.action("search_records").perform(ctx(), {"module": "Deals", "email": "x@y.z"})["count"] == 0
    )
    coql = responses.post(
        f"{US}/crm/v7/coql", json={"data": [{"id": "1"}], "info": {"count": 1, "more_records": False}}
    )
    assert (
        connector.action("coql_query").perform(
            ctx(), {"query": "select id from Deals where Stage = 'Contract'"}
        )["count"]
        == 1
    )
    assert json.loads(coql.calls[0].request.body) == {
        "select_query": "select id from Deals where Stage = 'Contract'"
    }
    note = responses.post(
        f"{US}/crm/v7/Deals/1/Notes",
        status=201,
        json={"data": [{"code": "SUCCESS", "details": {"id": "9"}, "status": "success"}]},
    )
    assert (
        connector.action("add_note").perform(
            ctx(), {"module": "Deals", "id": "1", "title": "签约", "content": "合同已签"}
        )["id"]
        == "9"
    )
    assert json.loads(note.calls[0].request.body) == {
        "data": [{"Note_Content": "合同已签", "Note_Title": "签约"}]
    }


@responses.activate
def test_subscribe_registers_a_watch_channel_and_unsubscribe_removes_it() -> None:
    watch = responses.post(
        f"{US}/crm/v7/actions/watch",
        json={
            "watch": [
                {
                    "code": "SUCCESS",
                    "details": {"events": [{"channel_id": 1}]},
                    "message": "ok",
                    "status": "success",
                }
            ]
        },
    )
    trigger = connector.trigger("record_notification")
    state = trigger.subscribe(
        ctx(), {"module": "Deals", "operations": ["edit"]}, "https://hub.example/hooks/abc"
    )
    assert state is not None
    [sent] = json.loads(watch.calls[0].request.body)["watch"]
    assert sent["notify_url"] == "https://hub.example/hooks/abc" and sent["events"] == ["Deals.edit"]
    assert (
        str(sent["channel_id"]) == state["channel_id"]
        and sent["token"] == state["token"]
        and len(state["token"]) <= 50
    )
    assert sent["return_affected_field_values"] is True
    expiry = datetime.fromisoformat(sent["channel_expiry"])
    assert 167 * 3600 < (expiry - datetime.now(UTC)).total_seconds() <= 168 * 3600
    delete = responses.delete(f"{US}/crm/v7/actions/watch", json={"watch": [{"status": "success"}]})
    trigger.unsubscribe(ctx(), {"module": "Deals"}, state)
    assert parse_qs(urlsplit(delete.calls[0].request.url).query)["channel_ids"] == [state["channel_id"]]


def notification(token: str, channel: str = "100000000000000001") -> bytes:
    return json.dumps(
        {
            "server_time": 1763960000000,
            "query_params": {},
            "module": "Deals",
            "resource_uri": f"{US}/crm/v7/Deals",
            "ids": ["5725767000000524157", "5725767000000524158"],
            "affected_fields": [{"record_id": "5725767000000524157", "fields": ["Stage"]}],
            "affected_values": [{"record_id": "5725767000000524157", "values": {"Stage": "Contract"}}],
            "operation": "update",
            "channel_id": channel,
            "token": token,
        }
    ).encode()


def test_notification_needs_the_channels_token_and_id() -> None:
    trigger = connector.trigger("record_notification")
    context = ctx()
    context.subscription = {"channel_id": "100000000000000001", "token": "tok-abc"}

    def request(body: bytes) -> InboundRequest:
        return InboundRequest(
            "POST", "https://hub/hooks/x", "/hooks/x", {"Content-Type": "application/json"}, {}, body
        )

    trigger.verify(context, {}, request(notification("tok-abc")))
    first, second = trigger.parse(context, {}, request(notification("tok-abc")))
    assert first.data["values"] == {"Stage": "Contract"} and first.data["affected_fields"] == ["Stage"]
    assert first.id == "100000000000000001:5725767000000524157:update:1763960000000"
    assert second.data["id"] == "5725767000000524158" and second.data["values"] == {}
    for body in (notification("tok-abd"), notification("tok-abc", channel="100000000000000002"), b"[]"):
        with pytest.raises(SignatureError):
            trigger.verify(context, {}, request(body))
    context.subscription = None
    with pytest.raises(SignatureError, match="no Zoho CRM watch channel"):
        trigger.verify(context, {}, request(notification("tok-abc")))


@responses.activate
def test_record_poll_reads_coql_by_modified_time_with_paging() -> None:
    pages = [
        {
            "data": [{"id": "1", "Modified_Time": "2026-11-24T10:00:00+08:00", "Stage": "Contract"}],
            "info": {"more_records": True},
        },
        {
            "data": [{"id": "2", "Modified_Time": "2026-11-24T10:05:00+08:00", "Stage": "Won"}],
            "info": {"more_records": False},
        },
    ]
    sent: list[str] = []

    def coql(request: Any) -> tuple[int, dict[str, str], str]:
        sent.append(json.loads(request.body)["select_query"])
        return 200, {"Date": "Tue, 24 Nov 2026 02:10:00 GMT"}, json.dumps(pages[len(sent) - 1])

    responses.add_callback(responses.POST, f"{US}/crm/v7/coql", callback=coql)
    trigger = connector.trigger("record_changed")
    result = trigger.poll(
        ctx(),
        {"module": "Deals", "fields": ["Stage"], "where": "Stage != 'Lost'"},
        "2026-11-24T01:00:00.000Z",
    )
    assert [e.id for e in result.items] == ["1:2026-11-24T02:00:00+00:00", "2:2026-11-24T02:05:00+00:00"]
    assert sent[0] == (
        "select id, Modified_Time, Stage from Deals where (Modified_Time >= '2026-11-24T00:58:00+00:00' "
        "and (Stage != 'Lost')) order by Modified_Time asc limit 200 offset 0"
    )
    assert sent[1].endswith("offset 1")
    assert result.cursor == "2026-11-24T02:05:00.000Z"


@responses.activate
def test_the_first_call_after_a_refresh_goes_to_the_api_domain_the_refresh_named() -> None:
    responses.post(
        "https://accounts.zoho.com/oauth/v2/token",
        json={"access_token": "at-2", "api_domain": "https://www.zohoapis.eu", "expires_in": 3600},
    )
    eu = responses.get("https://www.zohoapis.eu/crm/v7/Deals/1", json={"data": [{"id": "1"}]})
    context = ctx(refresh_token="rt-1", expires_at=time.time() - 10)
    connector.action("get_record").perform(context, {"module": "Deals", "id": "1"})
    assert len(eu.calls) == 1 and eu.calls[0].request.headers["Authorization"] == "Zoho-oauthtoken at-2"
