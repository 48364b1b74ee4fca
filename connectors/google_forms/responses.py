"""`new_response`: poll `GET /v1/forms/{formId}/responses?filter=timestamp > T` with pageToken paging.

The cursor is the newest `lastSubmittedTime` the hub has stored (RFC 3339, UTC). Each poll asks
for responses submitted after the cursor minus an overlap window (Google may store a response a
moment after its timestamp), so a response can be read twice: its item id is
`responseId:lastSubmittedTime`, which the hub's seen-ids drop, while an edited response (a new
lastSubmittedTime) starts a new run. The first poll of a recipe without a backfill starts at
Google's own clock (its answer's Date header), never the hub's. Question titles come from
`GET /v1/forms/{formId}` when asked for, cached.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.google_forms import api
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.polling import UNORDERED, Page, TimeWindowPolling, vendor_time
from hub.sdk.types import TriggerEvent

MAX_PAGES = 200
TITLE_CACHE_S = 600
_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?Z$")


def parse_time(stamp: str) -> tuple[datetime, int]:
    """(the instant to the second, nanoseconds) of a Zulu RFC 3339 time, keeping Google's precision."""
    match = _RFC3339.match(stamp)
    if not match:
        raise PermanentError(f"Google Forms: {stamp!r} is not an RFC 3339 UTC time")
    fraction = (match.group(2) or ".")[1:]
    return datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC), int(
        (fraction + "000000000")[:9]
    )


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC as Google writes it: a fraction only when there is one, without trailing zeros."""
    fraction = f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond else ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def later(a: str, b: str) -> str:
    return a if parse_time(a) >= parse_time(b) else b


def answer_value(answer: dict[str, Any]) -> Any:
    """One answer flattened: a string, a list (checkboxes, grid rows), or file descriptors."""
    if "fileUploadAnswers" in answer:
        return [
            {"file_id": f.get("fileId"), "file_name": f.get("fileName"), "mime_type": f.get("mimeType")}
            for f in (answer["fileUploadAnswers"] or {}).get("answers", [])
        ]
    values = [a.get("value") for a in (answer.get("textAnswers") or {}).get("answers", [])]
    return values[0] if len(values) == 1 else values


def question_titles(form: dict[str, Any]) -> dict[str, str]:
    """questionId -> title, grid rows as 'Group title [row title]'."""
    titles: dict[str, str] = {}
    for item in form.get("items") or []:
        title = str(item.get("title") or "")
        question = (item.get("questionItem") or {}).get("question")
        if question and question.get("questionId"):
            titles[str(question["questionId"])] = title
        for row in (item.get("questionGroupItem") or {}).get("questions") or []:
            if row.get("questionId"):
                row_title = (row.get("rowQuestion") or {}).get("title") or ""
                titles[str(row["questionId"])] = f"{title} [{row_title}]" if row_title else title
    return titles


def to_event(form_id: str, response: dict[str, Any], titles: dict[str, str] | None) -> dict[str, Any]:
    answers = {
        str(qid): answer_value(answer)
        for qid, answer in (response.get("answers") or {}).items()
        if isinstance(answer, dict)
    }
    event: dict[str, Any] = {
        "form_id": form_id,
        "response_id": response.get("responseId"),
        "create_time": response.get("createTime"),
        "last_submitted_time": response.get("lastSubmittedTime"),
        "respondent_email": response.get("respondentEmail"),
        "total_score": response.get("totalScore"),
        "answers": answers,
        "raw": response,
    }
    if titles is not None:
        event["answers_by_title"] = {titles.get(qid, qid): value for qid, value in answers.items()}
    return event


class NewResponse(TimeWindowPolling):
    key = "new_response"
    title = "New form response"
    description = "Polls a Google Form for responses submitted (or re-submitted) since the last poll."
    default_interval_s = 300
    min_interval_s = 60
    config_schema = {
        "type": "object",
        "required": ["form_id"],
        "additionalProperties": False,
        "properties": {
            "form_id": {
                "type": "string",
                "title": "Form ID",
                "minLength": 10,
                "description": "From the edit URL: https://docs.google.com/forms/d/<form ID>/edit",
            },
            "include_titles": {
                "type": "boolean",
                "default": False,
                "title": "Add answers by question title",
                "description": "Reads the form's questions (needs the forms.body.readonly scope).",
            },
            "page_size": {"type": "integer", "minimum": 1, "maximum": 5000, "default": 1000},
            "overlap_s": {"type": "integer", "minimum": 0, "maximum": 86400, "default": 120},
        },
    }
    output_schema = {
        "type": "object",
        "required": ["form_id", "response_id", "last_submitted_time", "answers"],
        "properties": {
            "form_id": {"type": "string"},
            "response_id": {"type": "string"},
            "create_time": {"type": ["string", "null"], "format": "date-time"},
            "last_submitted_time": {"type": "string", "format": "date-time"},
            "respondent_email": {"type": ["string", "null"]},
            "total_score": {"type": ["number", "null"]},
            "answers": {"type": "object", "description": "questionId -> text, list, or files."},
            "answers_by_title": {"type": "object"},
            "raw": {"type": "object"},
        },
    }
    sample = {
        "form_id": "1FAIpQLSd3example0formId",
        "response_id": "ACYDBNj5example",
        "create_time": "2026-11-23T08:15:02.114Z",
        "last_submitted_time": "2026-11-23T08:15:02.114Z",
        "respondent_email": "li.lei@example.com",
        "total_score": None,
        "answers": {"1a2b3c4d": "Li Lei", "5e6f7a8b": ["CRM", "ERP"]},
        "answers_by_title": {"Name": "Li Lei", "Products": ["CRM", "ERP"]},
        "raw": {},
    }

    def _titles(self, ctx: Context, form_id: str) -> dict[str, str]:
        key = ctx.cache_key(f"google_forms_titles:{form_id}")
        cached = ctx.cache.get(key)
        if isinstance(cached, dict):
            return cached
        titles = question_titles(api.get(ctx, f"v1/forms/{form_id}"))
        ctx.cache.set(key, titles, TITLE_CACHE_S)
        return titles

    default_max_pages = MAX_PAGES
    page_order = UNORDERED  # Google does not sort responses: a poll cut short fails rather than skip

    def fetch_page(self, ctx: Context, config: dict[str, Any], since: datetime, page_token: Any) -> Page:
        params: dict[str, Any] = {
            "filter": f"timestamp > {format_time(since)}",
            "pageSize": config["page_size"],
        }
        if page_token:
            params["pageToken"] = page_token
        page, response = api.exchange(ctx, f"v1/forms/{config['form_id']}/responses", params)
        found = [
            r
            for r in page.get("responses") or []
            if isinstance(r, dict) and r.get("lastSubmittedTime") and r.get("responseId")
        ]
        return Page(items=found, next_page=page.get("nextPageToken"), vendor_now=vendor_time(response))

    def item_time(self, ctx: Context, config: dict[str, Any], item: Any) -> datetime:
        return self.read_cursor(ctx, str(item["lastSubmittedTime"]))

    def item_event(self, ctx: Context, config: dict[str, Any], item: Any, stamp: datetime) -> TriggerEvent:
        form_id = str(config["form_id"])
        titles = self._titles(ctx, form_id) if config.get("include_titles") else None
        return TriggerEvent(
            data=to_event(form_id, item, titles), id=f"{item['responseId']}:{item['lastSubmittedTime']}"
        )

    def read_cursor(self, ctx: Context, cursor: str) -> datetime:
        instant, nanos = parse_time(cursor)
        return instant + timedelta(microseconds=nanos // 1000)  # to the microsecond: the overlap re-reads

    def write_cursor(self, ctx: Context, moment: datetime) -> str:
        return format_time(moment)
