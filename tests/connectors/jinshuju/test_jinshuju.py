"""jinshuju: data pushes (documented payload) through the ingress, and the V1 entries poll."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import responses
from sqlalchemy import func, select

from connectors.jinshuju import connector as jinshuju
from hub.db.models import Event, Run
from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime
from hub.sdk.context import Context, MemoryTokenCache
from hub.sdk.errors import AuthError, PermanentError, RetryableError

FORM = "E0Tqhk"
ENTRIES = f"https://jinshuju.net/api/v1/forms/{FORM}/entries"
FORM_URL = f"https://jinshuju.net/api/v1/forms/{FORM}"
KEY, SECRET = "3d_vDQTCImnVorV7N0Z--Q", "-t_kEH1yJNJYuBRhIEFeJA"
POLL = jinshuju.trigger("new_entry_poll")

# The push body as 金数据 documents it for 数据推送 (a JSON POST per entry).
PUSH = {
    "form": FORM,
    "form_name": "客户咨询登记",
    "entry": {
        "serial_number": 123,
        "field_2": "张三",
        "field_5": "13812345678",
        "field_3": "这是一行文字",
        "field_6": "support@jinshuju.net",
        "x_field_1": "这是一行文字",
        "color_mark": "深绿色",
        "creator_name": "小王",
        "created_at": "2025-08-26T09:55:04.123Z",
        "updated_at": "2025-08-26T09:55:04.123Z",
        "info_remote_ip": "127.0.0.1",
    },
}


def entry(serial: int, name: str = "张三") -> dict[str, Any]:
    return {
        "serial_number": serial,
        "field_1": name,
        "field_2": "13000000000",
        "info_filling_duration": 28,
        "creator_name": "",
        "created_at": "2020-08-28T08:00:00.000Z",
        "updated_at": "2020-08-28T08:00:00.000Z",
    }


def page(serials: list[int], following: int | None = None, total: int = 828) -> dict[str, Any]:
    body: dict[str, Any] = {"total": total, "count": len(serials), "data": [entry(s) for s in serials]}
    if following is not None:
        body["next"] = following
    return body


def ctx(since: datetime | None = None, **connection: Any) -> Context:
    fields = {"api_key": KEY, "api_secret": SECRET, **connection}
    return Context(
        connector=jinshuju, connection=fields, since=since, connection_id=5, cache=MemoryTokenCache()
    )


def query(call: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


# --- data push ---------------------------------------------------------------------------------


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def push_token(runtime: Runtime, config: dict[str, Any]) -> str:
    with runtime.db.transaction() as session:
        document = {
            "name": "金数据 leads",
            "trigger": {"connector": "jinshuju", "trigger": "new_entry", "config": config},
            "steps": [],
        }
        recipe = save_recipe(session, runtime, document)
        return hook_urls(session, runtime, recipe)["webhook_url"].split("/hooks/")[1]


def test_a_push_is_one_event_labelled_and_repeats_start_no_second_run(runtime: Runtime, client: Any) -> None:
    token = push_token(runtime, {"form": FORM, "field_labels": {"field_2": "姓名", "field_5": "手机"}})
    first = client.post(f"/hooks/{token}", json=PUSH)
    again = client.post(f"/hooks/{token}", json=PUSH)
    second_entry = {**PUSH, "entry": {**PUSH["entry"], "serial_number": 124}}
    other = client.post(f"/hooks/{token}", json=second_entry)
    assert (first.status_code, again.status_code, other.status_code) == (202, 200, 202)
    assert first.get_json()["event_id"] == again.get_json()["event_id"]
    with runtime.db.transaction() as session:
        assert session.scalar(select(func.count(Event.id))) == 2
        assert session.scalar(select(func.count(Run.id))) == 2
        event = session.get(Event, int(first.get_json()["event_id"]))
        data, dedupe = event.payload, event.dedupe_key
    assert f"{FORM}:123" in (dedupe or "")
    assert data["fields"] == {
        "姓名": "张三",
        "手机": "13812345678",
        "field_3": "这是一行文字",
        "field_6": "support@jinshuju.net",
        "x_field_1": "这是一行文字",
    }
    assert data["form_name"] == "客户咨询登记" and data["serial_number"] == 123
    assert data["creator_name"] == "小王" and data["entry"]["info_remote_ip"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({**PUSH, "form": "Other1"}, 400),
        ({"form": FORM, "form_name": "x"}, 400),
        ({**PUSH, "entry": {"field_1": "no serial"}}, 400),
        ({"form_name": "x", "entry": {"serial_number": 1}}, 400),
    ],
)
def test_bad_pushes_are_refused(runtime: Runtime, client: Any, body: dict[str, Any], status: int) -> None:
    token = push_token(runtime, {"form": FORM})
    assert client.post(f"/hooks/{token}", json=body).status_code == status
    assert (
        client.post(f"/hooks/{token}", data=b"not json", content_type="application/json").status_code == 400
    )


# --- V1 entries poll ---------------------------------------------------------------------------


@responses.activate
def test_first_poll_asks_for_entries_created_since_now_in_beijing_time_and_keeps_the_highest_serial() -> None:
    route = responses.get(ENTRIES, json=page([41, 42]))
    before = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None, microsecond=0)
    result = POLL.poll(ctx(), {"form": FORM, "use_form_labels": False, "overlap_s": 300}, None)
    asked = datetime.strptime(query(route.calls[0])["created_at"], "%Y-%m-%d %H:%M:%S")
    assert before - timedelta(seconds=301) <= asked <= before - timedelta(seconds=299)
    assert [i.id for i in result.items] == [f"{FORM}:41", f"{FORM}:42"]
    assert json.loads(result.cursor or "") == {"serial": 42}
    sent = route.calls[0].request
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    assert sent.headers["Accept"] == "application/json" and SECRET not in sent.url


@responses.activate
def test_an_empty_form_keeps_a_time_cursor_until_the_first_entry() -> None:
    responses.get(ENTRIES, json=page([], total=0))
    first = POLL.poll(ctx(), {"form": FORM}, None)
    state = json.loads(first.cursor or "")
    assert list(state) == ["since"]
    responses.get(ENTRIES, json=page([1], total=1))
    second = POLL.poll(ctx(), {"form": FORM, "use_form_labels": False, "overlap_s": 60}, first.cursor)
    asked = query(responses.calls[1])["created_at"]
    expected = datetime.strptime(state["since"], "%Y-%m-%d %H:%M:%S") - timedelta(seconds=60)
    assert asked == expected.strftime("%Y-%m-%d %H:%M:%S")
    assert [i.id for i in second.items] == [f"{FORM}:1"] and json.loads(second.cursor or "") == {"serial": 1}


@responses.activate
def test_an_empty_form_whose_clock_is_15_minutes_behind_loses_no_entry() -> None:
    """Before: the time cursor was the hub's now, so entries 金数据 stamped in the first ten minutes
    (15 behind, less the 5-minute overlap) were older than every later query and never fetched."""
    beijing = ZoneInfo("Asia/Shanghai")
    vendor_now = datetime.now(UTC) - timedelta(minutes=15)
    created: list[tuple[int, datetime]] = [(1, vendor_now - timedelta(minutes=1))]  # before activation

    def reply(request: Any) -> tuple[int, dict[str, str], str]:
        asked = parse_qs(urlsplit(request.url).query)
        if "next" in asked:
            rows = [entry(serial) for serial, _ in created if serial > int(asked["next"][0])]
        else:
            floor = datetime.strptime(asked["created_at"][0], "%Y-%m-%d %H:%M:%S").replace(tzinfo=beijing)
            rows = [entry(serial) for serial, at in created if at >= floor]
        date = (datetime.now(UTC) - timedelta(minutes=15)).strftime("%a, %d %b %Y %H:%M:%S GMT")
        return 200, {"Date": date}, json.dumps(page([int(r["serial_number"]) for r in rows], total=len(rows)))

    responses.add_callback(responses.GET, ENTRIES, callback=reply)
    first = POLL.poll(ctx(), {"form": FORM, "use_form_labels": False}, None)
    assert [i.id for i in first.items] == [f"{FORM}:1"]  # the hub stores it as seen, without a run
    created.append((2, vendor_now + timedelta(seconds=30)))  # after activation, by 金数据's clock
    second = POLL.poll(ctx(), {"form": FORM, "use_form_labels": False}, first.cursor)
    assert f"{FORM}:2" in [i.id for i in second.items]


@responses.activate
def test_serial_cursor_pages_with_next_and_drops_what_was_seen() -> None:
    responses.get(ENTRIES, json=page([50, 51, 52], following=52))
    responses.get(ENTRIES, json=page([52, 53], following=53))
    responses.get(ENTRIES, json=page([], following=53))
    result = POLL.poll(ctx(), {"form": FORM, "use_form_labels": False}, '{"serial":50}')
    assert [i.id for i in result.items] == [f"{FORM}:51", f"{FORM}:52", f"{FORM}:53"]
    assert json.loads(result.cursor or "") == {"serial": 53}
    assert [query(c) for c in responses.calls] == [{"next": "50"}, {"next": "52"}, {"next": "53"}]
    assert result.items[0].data["fields"] == {"field_1": "张三", "field_2": "13000000000"}


@responses.activate
def test_an_empty_poll_keeps_the_serial_cursor() -> None:
    responses.get(ENTRIES, json=page([]))
    result = POLL.poll(ctx(), {"form": FORM}, '{"serial":9}')
    assert result.items == [] and json.loads(result.cursor or "") == {"serial": 9}


@responses.activate
def test_labels_come_from_the_form_structure_once_and_the_recipe_map_wins() -> None:
    form_route = responses.get(
        FORM_URL,
        json={
            "name": "产品需求调研表",
            "description": "",
            "fields": [
                {"field_1": {"label": "姓名", "type": "single_line_text", "notes": "", "private": False}},
                {"field_2": {"label": "手机", "type": "mobile", "notes": "", "private": False}},
            ],
        },
    )
    responses.get(ENTRIES, json=page([7]))
    cache = MemoryTokenCache()
    context = Context(connector=jinshuju, connection={"api_key": KEY, "api_secret": SECRET}, cache=cache)
    [item] = POLL.poll(context, {"form": FORM, "field_labels": {"field_2": "Mobile"}}, '{"serial":6}').items
    assert item.data["fields"] == {"姓名": "张三", "Mobile": "13000000000"}
    responses.get(ENTRIES, json=page([8]))
    POLL.poll(context, {"form": FORM}, '{"serial":7}')
    assert len(form_route.calls) == 1


@responses.activate
def test_a_backfill_starts_at_since_in_beijing_time() -> None:
    route = responses.get(ENTRIES, json=page([]))
    result = POLL.poll(ctx(since=datetime(2026, 11, 20, 17, 30, tzinfo=UTC)), {"form": FORM}, None)
    assert query(route.calls[0]) == {"created_at": "2026-11-21 01:30:00"}
    assert json.loads(result.cursor or "") == {"since": "2026-11-21 01:30:00"}


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (
            401,
            {"error": "unauthorized", "error_description": "API Key 或 Secret 错误"},
            AuthError,
            "API Key 或 Secret 错误",
        ),
        (
            402,
            {"error_description": "当前套餐不支持 V1 API"},
            PermanentError,
            "plan does not include the V1 API",
        ),
        (404, {"error_description": "表单不存在或无权访问"}, PermanentError, "表单不存在"),
        (429, {"error": "too_many_requests"}, RetryableError, "too_many_requests"),
        (500, {"error": "internal_error"}, RetryableError, "internal_error"),
    ],
)
def test_errors_map_to_typed_errors(
    status: int, body: dict[str, Any], error: type[Exception], text: str
) -> None:
    responses.get(ENTRIES, status=status, json=body)
    with pytest.raises(error, match=text) as failed:
        POLL.poll(ctx(), {"form": FORM}, '{"serial":1}')
    assert type(failed.value) is error and failed.value.status == status


def test_poll_without_api_credentials_and_a_corrupt_cursor_are_named() -> None:
    bare = Context(connector=jinshuju, connection={})
    with pytest.raises(AuthError, match="API key and secret"):
        POLL.poll(bare, {"form": FORM}, '{"serial":1}')
    with pytest.raises(PermanentError, match="not understood"):
        POLL.poll(ctx(), {"form": FORM}, "42")


@responses.activate
def test_test_connection_lists_forms() -> None:
    route = responses.get("https://jinshuju.net/api/v1/forms", json={"count": 3, "data": [{}, {}, {}]})
    assert jinshuju.test_connection(ctx()) == "金数据: API key accepted (3 forms visible)"
    assert route.calls[0].request.headers["Authorization"].startswith("Basic ")
