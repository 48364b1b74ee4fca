"""`new_submission_poll`: `GET /form/{id}/submissions`, for hubs Jotform cannot reach.

The cursor is the newest `created_at` the hub has stored, exactly as Jotform wrote it
("YYYY-MM-DD HH:MM:SS" on Jotform's clock), so no time zone is involved in steady state. Each poll
asks for `created_at:gt` (cursor minus an overlap window) in ascending order and pages with
offset/limit; submissions seen twice are dropped here, and the hub's seen-ids drop the overlap.
The first poll of a recipe without a backfill reads only the newest page and stores the newest
`created_at` it holds (an empty form stores "", meaning "from the first submission on").
A backfill start time is converted to the account's time zone (a connection field).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.jotform import api
from connectors.jotform.submission import event_from_api
from connectors.jotform.webhook import FORM_ID
from hub.sdk.connector import PollingTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.types import PollResult, TriggerEvent

JOTFORM_TIME = "%Y-%m-%d %H:%M:%S"
MAX_PAGES = 50


def account_zone(ctx: Context) -> ZoneInfo:
    name = str(ctx.connection.get("timezone") or "America/New_York")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PermanentError(f"Jotform: unknown time zone {name!r} in the connection") from exc


def shifted(stamp: str, seconds: int) -> str:
    """A Jotform time string moved by `seconds` (negative: earlier)."""
    try:
        moment = datetime.strptime(stamp, JOTFORM_TIME)
    except ValueError as exc:
        raise PermanentError(f"Jotform: stored cursor {stamp!r} is not YYYY-MM-DD HH:MM:SS") from exc
    return (moment + timedelta(seconds=seconds)).strftime(JOTFORM_TIME)


class NewSubmissionPoll(PollingTrigger):
    key = "new_submission_poll"
    title = "New submission (polling)"
    description = "Polls a form's submissions; use it when Jotform cannot reach the hub's webhook URL."
    default_interval_s = 300
    min_interval_s = 60
    config_schema = {
        "type": "object",
        "required": ["form_id"],
        "additionalProperties": False,
        "properties": {
            "form_id": FORM_ID,
            "page_size": {
                "type": "integer",
                "minimum": 1,
                "maximum": 1000,
                "default": 100,
                "title": "Page size",
            },
            "overlap_s": {
                "type": "integer",
                "minimum": 0,
                "maximum": 86400,
                "default": 300,
                "title": "Overlap window (s)",
                "description": "Re-read this much before the cursor, for submissions stored late by Jotform.",
            },
        },
    }
    output_schema = {
        "type": "object",
        "required": ["form_id", "submission_id", "created_at", "answers", "answers_by_id"],
        "properties": {
            "form_id": {"type": ["string", "null"]},
            "submission_id": {"type": "string"},
            "created_at": {"type": "string", "description": "Jotform's clock, YYYY-MM-DD HH:MM:SS."},
            "updated_at": {"type": ["string", "null"]},
            "status": {"type": ["string", "null"]},
            "ip": {"type": ["string", "null"]},
            "answers": {"type": "object"},
            "answers_by_id": {"type": "object"},
            "answers_by_label": {"type": "object", "description": "Question label -> pretty answer."},
            "raw": {"type": "object"},
        },
    }
    sample = {
        "form_id": "241018298765432",
        "submission_id": "5931738482018634071",
        "created_at": "2026-11-23 04:12:55",
        "updated_at": None,
        "status": "ACTIVE",
        "ip": "203.0.113.7",
        "answers": {"name": {"first": "Li", "last": "Lei"}, "email": "li.lei@example.com"},
        "answers_by_id": {"3": {"first": "Li", "last": "Lei"}, "4": "li.lei@example.com"},
        "answers_by_label": {"Name": "Li Lei", "E-mail": "li.lei@example.com"},
        "raw": {},
    }

    def _page(
        self, ctx: Context, form_id: str, offset: int, limit: int, lower: str | None, direction: str
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {
            "offset": offset,
            "limit": limit,
            "orderby": "created_at",
            "direction": direction,
        }
        if lower:
            params["filter"] = json.dumps({"created_at:gt": lower}, separators=(",", ":"))
        content = api.call(
            ctx, "GET", f"/form/{form_id}/submissions", "listing submissions", params=params
        ).get("content")
        if content is None:
            return []
        if not isinstance(content, list):
            raise PermanentError("Jotform: submissions answer has no list in content")
        return [item for item in content if isinstance(item, dict)]

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        """Not a TimeWindowPolling: a first poll reads the newest page by order (no clock), and the
        cursor "" means "from the first submission"."""
        form_id, limit = str(config["form_id"]), int(config.get("page_size") or 100)
        if cursor is not None:
            lower, newest = shifted(cursor, -int(config.get("overlap_s", 300))) if cursor else None, cursor
        elif ctx.since is not None:  # a backfill's first poll
            lower = newest = ctx.since.astimezone(account_zone(ctx)).strftime(JOTFORM_TIME)
        else:  # a first poll: the newest page only (the hub stores it as seen, starting no runs)
            page = self._page(ctx, form_id, 0, limit, None, "DESC")
            return PollResult(items=_events(page), cursor=max(map(_created, page), default=""))
        read: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            page = self._page(ctx, form_id, len(read), limit, lower, "ASC")
            read += page
            if len(page) < limit:
                break
        return PollResult(items=_events(read), cursor=max([newest, *map(_created, read)]))


def _created(item: dict[str, Any]) -> str:
    return str(item.get("created_at") or "")


def _events(items: list[dict[str, Any]]) -> list[TriggerEvent]:
    """One event per submission id, deleted submissions left out."""
    events: dict[str, TriggerEvent] = {}
    for item in items:
        if item.get("id") is not None and item.get("status") != "DELETED":
            events.setdefault(str(item["id"]), TriggerEvent(data=event_from_api(item), id=str(item["id"])))
    return list(events.values())
