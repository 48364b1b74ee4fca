"""jotform.new_submission_poll and the API's error answers, against a faked api.jotform.com."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from connectors.jotform import connector as jotform
from connectors.jotform.api import seconds_until_quota_reset
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from tests.connectors.jotform.fixtures import API, FORM_ID, KEY, page, submission

POLL = jotform.trigger("new_submission_poll")
URL = f"{API}/form/{FORM_ID}/submissions"


def ctx(since: datetime | None = None, **connection: Any) -> Context:
    return Context(connector=jotform, connection={"api_key": KEY, **connection}, since=since)


def query(call: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


@responses.activate
def test_first_poll_reads_the_newest_page_only_and_stores_its_newest_created_at() -> None:
    route = responses.get(
        URL, json=page([submission("103", "2026-11-23 09:00:03"), submission("102", "2026-11-23 09:00:02")])
    )
    result = POLL.poll(ctx(), {"form_id": FORM_ID, "page_size": 2}, None)
    assert [i.id for i in result.items] == ["103", "102"]
    assert result.cursor == "2026-11-23 09:00:03"
    assert query(route.calls[0]) == {
        "offset": "0",
        "limit": "2",
        "orderby": "created_at",
        "direction": "DESC",
    }
    assert route.calls[0].request.headers["APIKEY"] == KEY and KEY not in route.calls[0].request.url


@responses.activate
def test_first_poll_of_an_empty_form_starts_from_the_first_submission() -> None:
    responses.get(URL, json=page([]))
    first = POLL.poll(ctx(), {"form_id": FORM_ID}, None)
    assert first.items == [] and first.cursor == ""
    route = responses.get(URL, json=page([submission("1", "2026-11-23 10:00:00")]))
    later = POLL.poll(ctx(), {"form_id": FORM_ID}, first.cursor)
    assert [i.id for i in later.items] == ["1"] and later.cursor == "2026-11-23 10:00:00"
    assert "filter" not in query(route.calls[-1]) and query(route.calls[-1])["direction"] == "ASC"


@responses.activate
def test_polls_page_by_offset_with_an_overlap_filter_and_drop_repeats_and_deleted() -> None:
    responses.get(
        URL,
        json=page([submission("10", "2026-11-23 09:59:00"), submission("11", "2026-11-23 10:00:01")], 0, 2),
    )
    responses.get(
        URL,
        json=page(
            [
                submission("11", "2026-11-23 10:00:01"),
                submission("12", "2026-11-23 10:00:05", status="DELETED"),
            ],
            2,
            2,
        ),
    )
    responses.get(URL, json=page([submission("13", "2026-11-23 10:00:07")], 4, 2))
    result = POLL.poll(ctx(), {"form_id": FORM_ID, "page_size": 2, "overlap_s": 120}, "2026-11-23 10:00:00")
    assert [i.id for i in result.items] == ["10", "11", "13"]
    assert result.cursor == "2026-11-23 10:00:07"
    offsets = [query(call)["offset"] for call in responses.calls]
    assert offsets == ["0", "2", "4"]
    for call in responses.calls:
        q = query(call)
        assert json.loads(q["filter"]) == {"created_at:gt": "2026-11-23 09:58:00"}
        assert (q["orderby"], q["direction"], q["limit"]) == ("created_at", "ASC", "2")
    assert result.items[0].data["answers"] == {
        "name": {"first": "Li", "last": "Lei"},
        "email": "10@example.com",
    }
    assert result.items[0].data["answers_by_label"] == {"Name": "Li Lei", "E-mail": "10@example.com"}
    assert result.items[0].data["created_at"] == "2026-11-23 09:59:00"


@responses.activate
def test_an_empty_poll_keeps_the_cursor() -> None:
    responses.get(URL, json=page([]))
    result = POLL.poll(ctx(), {"form_id": FORM_ID}, "2026-11-23 10:00:00")
    assert result.items == [] and result.cursor == "2026-11-23 10:00:00"


@responses.activate
def test_a_backfill_starts_at_the_since_time_in_the_accounts_zone() -> None:
    route = responses.get(URL, json=page([]))
    since = datetime(2026, 11, 20, 17, 30, tzinfo=UTC)
    result = POLL.poll(ctx(since=since, timezone="Asia/Shanghai"), {"form_id": FORM_ID}, None)
    assert json.loads(query(route.calls[0])["filter"]) == {"created_at:gt": "2026-11-21 01:30:00"}
    assert result.cursor == "2026-11-21 01:30:00"  # never past the start: later polls read from here
    eastern = POLL.poll(ctx(since=since), {"form_id": FORM_ID}, None)
    assert eastern.cursor == "2026-11-20 12:30:00"


def test_a_bad_time_zone_or_cursor_is_a_clear_error() -> None:
    with pytest.raises(PermanentError, match="unknown time zone"):
        POLL.poll(ctx(since=datetime.now(UTC), timezone="Mars/Olympus"), {"form_id": FORM_ID}, None)
    with pytest.raises(PermanentError, match="YYYY-MM-DD HH:MM:SS"):
        POLL.poll(ctx(), {"form_id": FORM_ID}, "yesterday")


@responses.activate
def test_quota_exceeded_is_retryable_until_midnight_eastern() -> None:
    responses.get(
        URL,
        status=429,
        json={"responseCode": 429, "message": "API-Limit exceeded", "content": "", "duration": "3ms"},
    )
    with pytest.raises(RetryableError) as busy:
        POLL.poll(ctx(), {"form_id": FORM_ID}, "2026-11-23 10:00:00")
    assert "API-Limit exceeded" in busy.value.message and busy.value.vendor_code == "429"
    assert 60 <= (busy.value.retry_after or 0) <= 24 * 3600 + 60


@responses.activate
def test_an_error_inside_a_200_answer_is_still_an_error() -> None:
    responses.get(
        URL,
        status=200,
        json={"responseCode": 401, "message": "You're not authorized to use (/form-id-submissions) "},
    )
    with pytest.raises(AuthError, match="not authorized"):
        POLL.poll(ctx(), {"form_id": FORM_ID}, "2026-11-23 10:00:00")


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (404, {"responseCode": 404, "message": "Form not found"}, PermanentError, "Form not found"),
        (400, {"responseCode": 400, "message": "Invalid filter"}, PermanentError, "Invalid filter"),
        (503, {"responseCode": 503, "message": "Service unavailable"}, RetryableError, "Service unavailable"),
        (502, None, RetryableError, "bad gateway"),
    ],
)
def test_status_mapping(status: int, body: Any, error: type[Exception], text: str) -> None:
    if body is None:
        responses.get(URL, status=status, body="bad gateway", content_type="text/html")
    else:
        responses.get(URL, status=status, json=body)
    with pytest.raises(error, match=text) as failed:
        POLL.poll(ctx(), {"form_id": FORM_ID}, "2026-11-23 10:00:00")
    assert type(failed.value) is error


@responses.activate
def test_test_connection_calls_get_user() -> None:
    route = responses.get(
        f"{API}/user",
        json={
            "responseCode": 200,
            "message": "success",
            "content": {"username": "acme_sales", "email": "x@y.z"},
        },
    )
    assert jotform.test_connection(ctx()) == "Jotform: API key accepted for acme_sales"
    assert route.calls[0].request.headers["APIKEY"] == KEY


@responses.activate
def test_the_eu_base_url_is_used_when_configured() -> None:
    route = responses.get("https://eu-api.jotform.com/user", json={"responseCode": 200, "content": {}})
    jotform.test_connection(ctx(base_url="https://eu-api.jotform.com"))
    assert route.calls


def test_quota_reset_is_the_next_eastern_midnight() -> None:
    noon_eastern = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # 12:00 EST
    assert seconds_until_quota_reset(noon_eastern) == 12 * 3600 + 60
