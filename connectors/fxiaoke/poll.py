"""`object_changed`: CRM records whose last_modified_time is after the cursor, oldest first, by offset."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.fxiaoke.actions import OBJECT, RECORD, SAMPLE, query_page
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.polling import Page, TimeWindowPolling
from hub.sdk.types import TriggerEvent

PAGE = 100


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class ObjectChanged(TimeWindowPolling):
    key = "object_changed"
    title = "CRM record created or changed (poll)"
    description = (
        "Polls data/query for records of one object whose last_modified_time (or create_time) is at or "
        "after the cursor minus an overlap, oldest first; one run per record version."
    )
    default_interval_s = 300
    min_interval_s = 60
    default_max_pages = 20
    config_schema = {
        "type": "object",
        "required": ["object"],
        "additionalProperties": False,
        "properties": {
            "object": OBJECT,
            "only_new": {
                "type": "boolean",
                "default": False,
                "title": "Only new records",
                "description": "Watch create_time instead of last_modified_time.",
            },
            "filters": {
                "type": "array",
                "items": {"type": "object"},
                "default": [],
                "title": "Extra filters",
                "description": "ANDed, e.g. "
                '[{"field_name": "sales_stage", "field_values": ["4"], "operator": "EQ"}]',
            },
            "overlap_s": {"type": "integer", "minimum": 0, "maximum": 86400, "default": 120},
            "max_pages": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
        },
    }
    output_schema = RECORD
    sample = SAMPLE

    @staticmethod
    def _field(config: dict[str, Any]) -> str:
        return "create_time" if config.get("only_new") else "last_modified_time"

    def fetch_page(self, ctx: Context, config: dict[str, Any], since: datetime, page_token: Any) -> Page:
        field, offset = self._field(config), int(page_token or 0)
        filters = [
            {"field_name": field, "field_values": [epoch_ms(since)], "operator": "GTE"},
            *config["filters"],
        ]
        orders = [{"fieldName": field, "isAsc": True}]
        rows, total = query_page(ctx, config["object"], filters, orders, offset, PAGE)
        following = offset + len(rows)
        more = len(rows) >= PAGE and (total is None or following < total)
        return Page(items=rows, next_page=following if more else None)

    def item_time(self, ctx: Context, config: dict[str, Any], item: Any) -> datetime:
        value = item.get(self._field(config))
        if not isinstance(value, int | float) or isinstance(value, bool) or not item.get("_id"):
            raise PermanentError(f"纷享销客: a {config['object']} record has no _id or {self._field(config)}")
        return datetime.fromtimestamp(value / 1000, UTC)

    def item_event(self, ctx: Context, config: dict[str, Any], item: Any, stamp: datetime) -> TriggerEvent:
        return TriggerEvent(data=item, id=f"{item['_id']}:{epoch_ms(stamp)}")
