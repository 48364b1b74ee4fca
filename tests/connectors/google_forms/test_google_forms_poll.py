"""google_forms.new_response: filter, paging, cursor, overlap, dedupe, answers and Google's errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from connectors.google_forms import connector as google_forms
from hub.sdk.context import Context, MemoryTokenCache
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from tests.connectors.google_forms.discovery import check_answer, check_request

FORM = "1FAIpQLSd3example0formId"
BASE = "https://forms.googleapis.com"
RESPONSES_URL = f"{BASE}/v1/forms/{FORM}/responses"
FORM_URL = f"{BASE}/v1/forms/{FORM}"
POLL = google_forms.trigger("new_response")


def ctx(since: datetime | None = None, cache: MemoryTokenCache | None = None) -> Context:
    connection = {
        "auth_type": "oauth2",
        "access_token": "ya29.token",
        "refresh_token": "1//r",
        "expires_at": None,
    }
    return Context(
        connector=google_forms,
        connection=connection,
        since=since,
        connection_id=3,
        cache=cache or MemoryTokenCache(),
    )


def response(rid: str, submitted: str, **answers: Any) -> dict[str, Any]:
    return {
        "responseId": rid,
        "createTime": "2026-11-23T08:00:01.100Z",
        "lastSubmittedTime": submitted,
        "respondentEmail": f"{rid}@example.com",
        "answers": answers
        or {
            "1a2b3c4d": {"questionId": "1a2b3c4d", "textAnswers": {"answers": [{"value": "Li Lei"}]}},
            "5e6f7a8b": {
                "questionId": "5e6f7a8b",
                "textAnswers": {"answers": [{"value": "CRM"}, {"value": "ERP"}]},
            },
        },
    }


def listing(items: list[dict[str, Any]], next_token: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"responses": items} if items else {}
    if next_token:
        body["nextPageToken"] = next_token
    return check_answer(body, "ListFormResponsesResponse")


def query(call: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


@responses.activate
def test_pages_with_the_same_filter_advance_the_cursor_and_drop_repeats() -> None:
    responses.get(
        RESPONSES_URL,
        json=listing(
            [response("r1", "2026-11-23T08:59:30.5Z"), response("r2", "2026-11-23T09:00:02.123456789Z")],
            "tok-2",
        ),
    )
    responses.get(
        RESPONSES_URL,
        json=listing(
            [response("r2", "2026-11-23T09:00:02.123456789Z"), response("r3", "2026-11-23T09:00:01Z")]
        ),
    )
    result = POLL.poll(ctx(), {"form_id": FORM, "page_size": 2, "overlap_s": 60}, "2026-11-23T09:00:00Z")
    assert [i.id for i in result.items] == [
        "r1:2026-11-23T08:59:30.5Z",
        "r2:2026-11-23T09:00:02.123456789Z",
        "r3:2026-11-23T09:00:01Z",
    ]
    # Changed with the shared base: cursors are datetimes, so to the microsecond; the overlap re-reads.
    assert result.cursor == "2026-11-23T09:00:02.123456Z"
    first, second = (query(c) for c in responses.calls)
    assert first == {"filter": "timestamp > 2026-11-23T08:59:00Z", "pageSize": "2"}
    assert second == {**first, "pageToken": "tok-2"}
    for call in responses.calls:
        check_request(call.request.url, "responses.list")
        assert call.request.headers["Authorization"] == "Bearer ya29.token"
    data = result.items[0].data
    assert data["answers"] == {"1a2b3c4d": "Li Lei", "5e6f7a8b": ["CRM", "ERP"]}
    assert data["response_id"] == "r1" and data["respondent_email"] == "r1@example.com"
    assert data["last_submitted_time"] == "2026-11-23T08:59:30.5Z" and "answers_by_title" not in data


@responses.activate
def test_an_edited_response_is_a_new_item_and_an_empty_poll_keeps_the_cursor() -> None:
    responses.get(RESPONSES_URL, json=listing([response("r1", "2026-11-23T10:00:00Z")]))
    responses.get(RESPONSES_URL, json=listing([]))
    edited = POLL.poll(ctx(), {"form_id": FORM}, "2026-11-23T09:00:00Z")
    assert [i.id for i in edited.items] == ["r1:2026-11-23T10:00:00Z"]
    empty = POLL.poll(ctx(), {"form_id": FORM}, edited.cursor)
    assert empty.items == [] and empty.cursor == "2026-11-23T10:00:00Z"
    assert query(responses.calls[1])["filter"] == "timestamp > 2026-11-23T09:58:00Z"  # default overlap 120 s


@responses.activate
def test_first_poll_starts_at_the_poll_start_and_a_backfill_at_since() -> None:
    responses.get(RESPONSES_URL, json=listing([]))
    before = datetime.now(UTC)
    first = POLL.poll(ctx(), {"form_id": FORM, "overlap_s": 0}, None)
    stamp = query(responses.calls[0])["filter"].removeprefix("timestamp > ")
    assert first.cursor == stamp and before <= datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    since = datetime(2026, 1, 1, tzinfo=UTC)
    backfill = POLL.poll(ctx(since=since), {"form_id": FORM}, None)
    assert query(responses.calls[1])["filter"] == "timestamp > 2026-01-01T00:00:00Z"
    assert backfill.cursor == "2026-01-01T00:00:00Z"


@responses.activate
def test_titles_come_from_the_form_once_and_files_and_grids_are_flattened() -> None:
    form = check_answer(
        {
            "formId": FORM,
            "info": {"title": "Lead capture", "documentTitle": "Lead capture"},
            "items": [
                {
                    "itemId": "i1",
                    "title": "Name",
                    "questionItem": {"question": {"questionId": "1a2b3c4d", "textQuestion": {}}},
                },
                {
                    "itemId": "i2",
                    "title": "Quote",
                    "questionItem": {
                        "question": {"questionId": "0f0f0f0f", "fileUploadQuestion": {"folderId": "f"}}
                    },
                },
                {
                    "itemId": "i3",
                    "title": "Interest",
                    "questionGroupItem": {
                        "questions": [{"questionId": "77aa77aa", "rowQuestion": {"title": "CRM"}}],
                        "grid": {
                            "columns": {"type": "RADIO", "options": [{"value": "High"}, {"value": "Low"}]}
                        },
                    },
                },
                {"itemId": "i4", "title": "Thanks", "textItem": {}},
            ],
        },
        "Form",
    )
    form_route = responses.get(FORM_URL, json=form)
    answers = {
        "1a2b3c4d": {"questionId": "1a2b3c4d", "textAnswers": {"answers": [{"value": "Li Lei"}]}},
        "0f0f0f0f": {
            "questionId": "0f0f0f0f",
            "fileUploadAnswers": {
                "answers": [{"fileId": "1xYz", "fileName": "quote.pdf", "mimeType": "application/pdf"}]
            },
        },
        "77aa77aa": {"questionId": "77aa77aa", "textAnswers": {"answers": [{"value": "High"}]}},
    }
    item = check_answer(
        {**response("r9", "2026-11-23T10:00:00Z", **answers), "totalScore": 7}, "FormResponse"
    )
    responses.get(RESPONSES_URL, json=listing([item]))
    cache = MemoryTokenCache()
    config = {"form_id": FORM, "include_titles": True}
    [event] = POLL.poll(ctx(cache=cache), config, "2026-11-23T09:00:00Z").items
    assert event.data["answers_by_title"] == {
        "Name": "Li Lei",
        "Quote": [{"file_id": "1xYz", "file_name": "quote.pdf", "mime_type": "application/pdf"}],
        "Interest [CRM]": "High",
    }
    assert event.data["total_score"] == 7
    POLL.poll(ctx(cache=cache), config, "2026-11-23T09:00:00Z")
    assert len(form_route.calls) == 1
    check_request(form_route.calls[0].request.url, "get")


@responses.activate
@pytest.mark.parametrize(
    ("status", "error", "error_type", "text"),
    [
        (
            403,
            {"code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"},
            AuthError,
            "cannot read this form",
        ),
        (
            404,
            {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"},
            PermanentError,
            "check the form ID",
        ),
        (
            400,
            {"code": 400, "message": "Invalid filter", "status": "INVALID_ARGUMENT"},
            PermanentError,
            "Invalid filter \\(code INVALID_ARGUMENT\\)",
        ),
        (
            429,
            {
                "code": 429,
                "message": "Quota exceeded for quota metric 'Read requests'",
                "status": "RESOURCE_EXHAUSTED",
            },
            RetryableError,
            "Quota exceeded",
        ),
        (
            500,
            {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"},
            RetryableError,
            "Internal error",
        ),
    ],
)
def test_google_errors_become_clear_typed_errors(
    status: int, error: dict[str, Any], error_type: type[Exception], text: str
) -> None:
    responses.get(RESPONSES_URL, status=status, json={"error": error}, headers={"Retry-After": "30"})
    with pytest.raises(error_type, match=text) as failed:
        POLL.poll(ctx(), {"form_id": FORM}, "2026-11-23T09:00:00Z")
    assert type(failed.value) is error_type and failed.value.status == status
    assert failed.value.message.startswith("Google Forms: ")
    if status == 429:
        assert failed.value.retry_after == 30 and failed.value.vendor_code == "RESOURCE_EXHAUSTED"


def test_a_bad_stored_cursor_is_named() -> None:
    with pytest.raises(PermanentError, match="not an RFC 3339 UTC time"):
        POLL.poll(ctx(), {"form_id": FORM}, "2026-11-23 09:00:00")


@responses.activate
def test_a_new_recipes_cursor_is_googles_date_not_the_hubs_clock() -> None:
    """Before: the first cursor was the poll's start on the hub's clock; responses a Google clock behind
    it stamped were older than every later filter."""
    responses.get(RESPONSES_URL, json=listing([]), headers={"Date": "Mon, 23 Nov 2026 10:00:00 GMT"})
    assert POLL.poll(ctx(), {"form_id": FORM}, None).cursor == "2026-11-23T10:00:00Z"
