"""jiandaoyun against a faked 简道云: exact v5 requests, error codes, paging, poll cursor, push signatures."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import responses

from connectors.jiandaoyun import connector
from connectors.jiandaoyun.push import push_signature
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError, RetryableError, SignatureError
from hub.sdk.types import InboundRequest

API = "https://api.jiandaoyun.com/api/v5"
KEY = "jdy-api-key-0001"
SECRET = "test-secret"
APP, ENTRY = "5b1a2f7f0b2f5e0001a1b2aa", "5b1a2f7f0b2f5e0001a1b2bb"


def ctx(**extra: Any) -> Context:
    return Context(connector=connector, connection={"api_key": KEY, "push_secret": SECRET, **extra})


def record(n: int, updated: str = "2026-11-20T02:05:00.000Z") -> dict[str, Any]:
    return {"_id": f"id{n:04d}", "appId": APP, "entryId": ENTRY, "updateTime": updated, "createTime": updated}


@responses.activate
def test_create_sends_the_documented_body_with_the_bearer_key() -> None:
    route = responses.post(f"{API}/app/entry/data/create", json={"data": record(1)})
    out = connector.action("create_data").perform(
        ctx(),
        {
            "app_id": APP,
            "entry_id": ENTRY,
            "data": {"_widget_1": {"value": "张三"}},
            "values": {"_widget_2": 12000.5},
            "data_creator": "zhangsan",
        },
    )
    assert out["id"] == "id0001" and out["record"]["entryId"] == ENTRY
    request = route.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert json.loads(request.body) == {
        "app_id": APP,
        "entry_id": ENTRY,
        "data": {"_widget_1": {"value": "张三"}, "_widget_2": {"value": 12000.5}},
        "is_start_workflow": False,
        "is_start_trigger": False,
        "data_creator": "zhangsan",
    }


@responses.activate
def test_update_and_get_address_one_record() -> None:
    update = responses.post(f"{API}/app/entry/data/update", json={"data": record(7)})
    get = responses.post(f"{API}/app/entry/data/get", json={"data": record(7)})
    inputs = {"app_id": APP, "entry_id": ENTRY, "data_id": "id0007"}
    connector.action("update_data").perform(ctx(), {**inputs, "values": {"_widget_3": "赢单"}})
    assert json.loads(update.calls[0].request.body)["data"] == {"_widget_3": {"value": "赢单"}}
    assert json.loads(update.calls[0].request.body)["data_id"] == "id0007"
    assert connector.action("get_data").perform(ctx(), inputs)["id"] == "id0007"
    assert json.loads(get.calls[0].request.body) == inputs


@responses.activate
def test_rate_limit_code_8303_is_retried_and_other_codes_fail_with_the_vendor_message() -> None:
    route = f"{API}/app/entry/data/get"
    responses.post(route, status=400, json={"code": 8303, "msg": "超出请求频率限制"})
    inputs = {"app_id": APP, "entry_id": ENTRY, "data_id": "x"}
    with pytest.raises(RetryableError) as retry:
        connector.action("get_data").perform(ctx(), inputs)
    assert retry.value.retry_after == 1.0 and retry.value.vendor_code == "8303"
    responses.replace(
        responses.POST, route, status=400, json={"code": 3005, "msg": "The data does not exist."}
    )
    with pytest.raises(PermanentError, match=r"The data does not exist\. \(code 3005\)") as failed:
        connector.action("get_data").perform(ctx(), inputs)
    assert not isinstance(failed.value, RetryableError)
    responses.replace(responses.POST, route, status=429, json={"code": 8304, "msg": "并发限制"})
    with pytest.raises(RetryableError, match="并发限制"):
        connector.action("get_data").perform(ctx(), inputs)


@responses.activate
def test_query_follows_the_id_cursor_and_hands_back_where_it_stopped() -> None:
    pages = [[record(n) for n in range(1, 101)], [record(n) for n in range(101, 131)]]
    bodies: list[dict[str, Any]] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        bodies.append(json.loads(request.body))
        return 200, {"Content-Type": "application/json"}, json.dumps({"data": pages[len(bodies) - 1]})

    responses.add_callback(responses.POST, f"{API}/app/entry/data/list", callback=answer)
    flt = {"rel": "and", "cond": [{"field": "_widget_9", "type": "text", "method": "eq", "value": ["赢单"]}]}
    out = connector.action("query_data").perform(ctx(), {"app_id": APP, "entry_id": ENTRY, "filter": flt})
    assert out["count"] == 130 and out["next_after_id"] is None
    assert "data_id" not in bodies[0] and bodies[1]["data_id"] == "id0100" and bodies[1]["filter"] == flt
    bodies.clear()
    out = connector.action("query_data").perform(
        ctx(), {"app_id": APP, "entry_id": ENTRY, "max_records": 100}
    )
    assert out["count"] == 100 and out["next_after_id"] == "id0100" and len(bodies) == 1


@responses.activate
def test_test_connection_lists_apps() -> None:
    responses.post(f"{API}/app/list", json={"apps": [{"app_id": APP, "name": "CRM"}]})
    assert "1 apps" in connector.test_connection(ctx())


# ---------------------------------------------------------------- data push signature
def test_signature_follows_the_documented_algorithm() -> None:
    # No published vector with a body exists: this value is derived from the documented algorithm
    # (sha1 of "nonce:payload:secret:timestamp", UTF-8, lower hex), computed independently here.
    body = '{"op":"data_create","data":{"_id":"id1","客户":"张三"}}'.encode()
    independent = hashlib.sha1(
        ":".join(["0f5ade", body.decode(), SECRET, "1498586609"]).encode("utf-8")
    ).hexdigest()
    assert push_signature("0f5ade", body, SECRET, "1498586609") == independent
    assert independent == hashlib.sha1(b"0f5ade:" + body + b":test-secret:1498586609").hexdigest()


def push(
    body: bytes,
    *,
    ts: int | None = None,
    sig: str | None = None,
    deliver: str = "d-1",
    sent: bytes | None = None,
) -> InboundRequest:
    """A push of `body` signed as 简道云 signs it; `sent` replaces the body after signing (tampering)."""
    stamp = str(int(time.time()) if ts is None else ts)
    signature = push_signature("n0nce", body, SECRET, stamp) if sig is None else sig
    body = body if sent is None else sent
    return InboundRequest(
        method="POST",
        url=f"https://hub.example/hooks/t?timestamp={stamp}&nonce=n0nce",
        path="/hooks/t",
        headers={
            "X-JDY-Signature": signature,
            "X-JDY-DeliverId": deliver,
            "Content-Type": "application/json",
        },
        query={"timestamp": stamp, "nonce": "n0nce"},
        body=body,
    )


BODY = json.dumps({"op": "data_update", "data": record(3)}).encode()


def test_push_signature_is_checked_over_the_raw_body_and_the_timestamp_window() -> None:
    trigger = connector.trigger("data_push")
    config: dict[str, Any] = {}
    trigger.verify(ctx(), config, push(BODY))
    for bad in (
        push(BODY, sent=BODY.replace(b"id0003", b"id0004")),
        push(BODY, sig="0" * 40),
        push(BODY, ts=int(time.time()) - 3600),
    ):
        with pytest.raises(SignatureError) as refused:
            trigger.verify(ctx(), config, bad)
        assert refused.value.response is not None and refused.value.response.status == 401
        assert refused.value.response.body == "fail"
    with pytest.raises(SignatureError, match="no push secret"):
        trigger.verify(ctx(push_secret=""), config, push(BODY))
    trigger.verify(ctx(), {"max_age_s": 0}, push(BODY, ts=1498586609))  # the check can be turned off


def test_push_becomes_one_event_keyed_by_deliver_id_and_other_ops_are_dropped() -> None:
    trigger = connector.trigger("data_push")
    (event,) = trigger.parse(ctx(), {}, push(BODY, deliver="6f9c2a1e"))
    assert event.id == "6f9c2a1e" and event.data["op"] == "data_update" and event.data["data_id"] == "id0003"
    removed = json.dumps({"op": "data_remove", "data": record(3)}).encode()
    assert trigger.parse(ctx(), {}, push(removed)) == []
    assert trigger.parse(ctx(), {"entry_id": "other"}, push(BODY)) == []
    assert trigger.acknowledge(ctx(), {}, push(BODY), ["1"]).body == "success"  # type: ignore[union-attr]


# ---------------------------------------------------------------- poll
@responses.activate
def test_poll_filters_on_update_time_pages_by_id_and_moves_the_cursor_to_the_newest_change() -> None:
    page1 = [record(n, "2026-11-20T02:00:00.000Z") for n in range(1, 100)] + [
        record(100, "2026-11-20T02:09:00.000Z")
    ]
    page2 = [record(101, "2026-11-20T02:03:00.000Z")]
    bodies: list[dict[str, Any]] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        bodies.append(json.loads(request.body))
        headers = {"Content-Type": "application/json", "Date": "Fri, 20 Nov 2026 02:10:00 GMT"}
        return 200, headers, json.dumps({"data": page1 if len(bodies) == 1 else page2})

    responses.add_callback(responses.POST, f"{API}/app/entry/data/list", callback=answer)
    result = connector.trigger("data_changed").poll(
        ctx(), {"app_id": APP, "entry_id": ENTRY}, "2026-11-20T01:00:00.000Z"
    )
    assert bodies[0]["filter"] == {
        "rel": "and",
        "cond": [
            {
                "field": "updateTime",
                "type": "datetime",
                "method": "range",
                "value": ["2026-11-20T00:58:00.000Z", None],
            }
        ],
    }
    assert bodies[1]["data_id"] == "id0100" and len(result.items) == 101
    assert result.items[0].id == "id0001:2026-11-20T02:00:00.000Z"
    assert result.cursor == "2026-11-20T02:09:00.000Z"


@responses.activate
def test_first_poll_takes_the_vendor_clock_and_only_new_watches_create_time() -> None:
    route = responses.post(
        f"{API}/app/entry/data/list", json={"data": []}, headers={"Date": "Fri, 20 Nov 2026 02:10:00 GMT"}
    )
    result = connector.trigger("data_changed").poll(
        ctx(), {"app_id": APP, "entry_id": ENTRY, "only_new": True}, None
    )
    assert result.items == [] and result.cursor == "2026-11-20T02:10:00.000Z"
    assert json.loads(route.calls[0].request.body)["filter"]["cond"][0]["field"] == "createTime"
    assert datetime.fromisoformat(result.cursor.replace("Z", "+00:00")) < datetime.now(UTC)


@responses.activate
def test_a_window_cut_by_max_pages_goes_on_from_the_last_id_before_the_cursor_moves() -> None:
    # Pages come in _id order: a record on a later page may be older than the newest one read.
    later = [record(n, "2026-11-20T02:09:00.000Z") for n in range(1, 101)]
    older = [record(101, "2026-11-20T02:01:00.000Z")]
    bodies: list[dict[str, Any]] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        bodies.append(json.loads(request.body))
        page = older if bodies[-1].get("data_id") == "id0100" else later
        headers = {"Content-Type": "application/json", "Date": "Fri, 20 Nov 2026 02:10:00 GMT"}
        return 200, headers, json.dumps({"data": page})

    responses.add_callback(responses.POST, f"{API}/app/entry/data/list", callback=answer)
    trigger, config = connector.trigger("data_changed"), {"app_id": APP, "entry_id": ENTRY, "max_pages": 1}
    cut = trigger.poll(ctx(), config, "2026-11-20T02:00:00.000Z")
    assert len(cut.items) == 100
    assert json.loads(cut.cursor or "") == {"at": "2026-11-20T01:58:00.000Z", "after": "id0100"}
    rest = trigger.poll(ctx(), config, cut.cursor)
    assert [e.id for e in rest.items] == ["id0101:2026-11-20T02:01:00.000Z"]  # not skipped
    assert bodies[1]["data_id"] == "id0100"
    assert bodies[1]["filter"]["cond"][0]["value"][0] == "2026-11-20T01:58:00.000Z"  # the same window
    assert rest.cursor == "2026-11-20T02:01:00.000Z"


@responses.activate
def test_a_backfill_reads_from_its_start() -> None:
    route = responses.post(
        f"{API}/app/entry/data/list",
        json={"data": [record(1, "2026-11-05T00:00:00.000Z")]},
        headers={"Date": "Fri, 20 Nov 2026 02:10:00 GMT"},
    )
    step = Context(connector=connector, connection={"api_key": KEY}, since=datetime(2026, 11, 1, tzinfo=UTC))
    result = connector.trigger("data_changed").poll(step, {"app_id": APP, "entry_id": ENTRY}, None)
    assert (
        json.loads(route.calls[0].request.body)["filter"]["cond"][0]["value"][0] == "2026-11-01T00:00:00.000Z"
    )
    assert len(result.items) == 1 and result.cursor == "2026-11-05T00:00:00.000Z"
