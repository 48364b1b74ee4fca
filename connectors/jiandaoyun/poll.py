"""`data_changed`: records created or changed since the cursor, read with data/list and an updateTime filter.

data/list pages by record `_id` (ascending), not by change time, so the time cursor may only move
once every page of a window has been read: until then a record on a later page could be older than
the newest one read. When `max_pages` stops a window early, the cursor keeps the window's start and
the last `_id` read (`{"at": …, "after": …}`), and the next poll goes on from that `_id` in the same
window; once a window is read to its end the cursor is the newest `updateTime` seen, capped at
简道云's own clock (the answer's Date header). The hub's seen-ids keep re-read records from running twice.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from connectors.jiandaoyun.actions import PAGE_MAX, RECORD, SAMPLE_RECORD
from connectors.jiandaoyun.api import post
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.polling import Page, TimeWindowPolling, aware, iso_ms, vendor_time, with_defaults
from hub.sdk.types import PollResult, TriggerEvent


def changed_since(since: datetime, field: str) -> dict[str, Any]:
    """The filter "`field` at or after `since`" (a datetime range open at the top)."""
    return {
        "rel": "and",
        "cond": [{"field": field, "type": "datetime", "method": "range", "value": [iso_ms(since), None]}],
    }


class DataChanged(TimeWindowPolling):
    key = "data_changed"
    title = "Record created or changed (poll)"
    description = (
        "Polls data/list for records whose updateTime (or createTime, for new records only) is after "
        "the cursor minus an overlap; one run per record version (_id + time)."
    )
    default_interval_s = 300
    min_interval_s = 30
    default_max_pages = 50
    config_schema = {
        "type": "object",
        "required": ["app_id", "entry_id"],
        "additionalProperties": False,
        "properties": {
            "app_id": {"type": "string", "minLength": 1, "title": "App ID"},
            "entry_id": {"type": "string", "minLength": 1, "title": "Form ID"},
            "only_new": {
                "type": "boolean",
                "default": False,
                "title": "Only new records",
                "description": "Watch createTime instead of updateTime: edits start nothing.",
            },
            "overlap_s": {"type": "integer", "minimum": 0, "maximum": 86400, "default": 120},
            "max_pages": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
        },
    }
    output_schema = RECORD
    sample = SAMPLE_RECORD

    @staticmethod
    def _field(config: dict[str, Any]) -> str:
        return "createTime" if config.get("only_new") else "updateTime"

    def fetch_page(self, ctx: Context, config: dict[str, Any], since: datetime, page_token: Any) -> Page:
        body: dict[str, Any] = {
            "app_id": config["app_id"],
            "entry_id": config["entry_id"],
            "limit": PAGE_MAX,
            "filter": changed_since(since, self._field(config)),
        }
        if page_token:
            body["data_id"] = page_token
        answer, response = post(ctx, "/v5/app/entry/data/list", body)
        records = [r for r in answer.get("data") or [] if isinstance(r, dict)]
        following = str(records[-1]["_id"]) if len(records) >= PAGE_MAX else None
        return Page(items=records, next_page=following, vendor_now=vendor_time(response))

    def item_time(self, ctx: Context, config: dict[str, Any], item: Any) -> datetime:
        value = item.get(self._field(config))
        try:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise PermanentError(
                f"简道云: record {item.get('_id')} has no readable {self._field(config)}"
            ) from None

    def item_event(self, ctx: Context, config: dict[str, Any], item: Any, stamp: datetime) -> TriggerEvent:
        return TriggerEvent(data=item, id=f"{item['_id']}:{iso_ms(stamp)}")

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        """The base's first poll (it only learns where now is); after that, windows read to their end."""
        previous, after = self._resume(ctx, cursor)
        filled = with_defaults(self.config_schema, config)
        if previous is not None:
            start = previous if after else previous - timedelta(seconds=int(filled["overlap_s"]))
        elif ctx.since is not None:  # a backfill's first poll
            start = aware(ctx.since)
        else:
            return super().poll(ctx, config, None)
        config = filled
        items: list[TriggerEvent] = []
        newest, vendor_now = None, None
        for _ in range(int(config["max_pages"])):
            page = self.fetch_page(ctx, config, start, after)
            vendor_now = vendor_now or page.vendor_now
            for raw in page.items:
                stamp = aware(self.item_time(ctx, config, raw))
                newest = stamp if newest is None else max(newest, stamp)
                items.append(self.item_event(ctx, config, raw, stamp))
            if page.next_page is None:
                return PollResult(
                    items=items, cursor=iso_ms(self._moved(start, previous, newest, vendor_now))
                )
            after = str(page.next_page)
        return PollResult(items=items, cursor=json.dumps({"at": iso_ms(start), "after": after}))

    def _resume(self, ctx: Context, cursor: str | None) -> tuple[datetime | None, str | None]:
        """(time, the _id to go on after): a plain time cursor, or a window stopped by max_pages."""
        if cursor is None:
            return None, None
        if cursor.startswith("{"):
            try:
                state = json.loads(cursor)
                return self.read_cursor(ctx, str(state["at"])), str(state["after"])
            except (ValueError, KeyError, TypeError):
                raise PermanentError(f"简道云: stored cursor {cursor!r} is not understood") from None
        return self.read_cursor(ctx, cursor), None

    @staticmethod
    def _moved(
        start: datetime, previous: datetime | None, newest: datetime | None, vendor_now: datetime | None
    ) -> datetime:
        """After a whole window: the newest change (capped at the vendor's clock), never back."""
        floor = previous if previous is not None else start
        if newest is None:
            return vendor_now if previous is None and vendor_now is not None else floor
        return max(min(newest, vendor_now) if vendor_now is not None else newest, floor)
