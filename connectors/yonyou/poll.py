"""`document_changed`: a list API polled by its modification stamp (`pubts`, the server's local time).

The list is asked for records with `pubts` at or after the cursor minus an overlap, oldest first
(`queryOrders`), page by page (`pageIndex`); one run per record version (id + pubts).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.yonyou.actions import SALES_ORDER_LIST, list_page
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.polling import Page, TimeWindowPolling
from hub.sdk.types import TriggerEvent

STAMP = "%Y-%m-%d %H:%M:%S"


def server_zone(ctx: Context) -> ZoneInfo:
    name = str(ctx.connection.get("server_timezone") or "Asia/Shanghai")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PermanentError(f"用友: unknown server_timezone {name!r}") from exc


class DocumentChanged(TimeWindowPolling):
    key = "document_changed"
    title = "Document created or changed (poll)"
    description = (
        "Polls a list API (sales orders by default) for records whose pubts is after the cursor minus "
        "an overlap; one run per record version."
    )
    default_interval_s = 300
    min_interval_s = 60
    default_max_pages = 20
    overlap_on_backfill = True
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "path": {
                "type": "string",
                "pattern": "^/yonbip/",
                "default": SALES_ORDER_LIST,
                "title": "List API path",
                "description": "e.g. /yonbip/sd/voucherorder/list (sales orders).",
            },
            "conditions": {
                "type": "object",
                "title": "Extra conditions",
                "description": 'Merged into each request, e.g. {"isSum": true}.',
            },
            "time_field": {"type": "string", "default": "pubts", "title": "Modification stamp field"},
            "id_field": {"type": "string", "default": "id", "title": "Record id field"},
            "page_size": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
            "overlap_s": {"type": "integer", "minimum": 0, "maximum": 86400, "default": 120},
            "max_pages": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
        },
    }
    output_schema = {"type": "object", "description": "The record as the list API returns it."}
    sample = {
        "id": "2291507369660672",
        "code": "UO-20261120000001",
        "pubts": "2026-11-20 10:00:00",
        "payMoney": 12000.5,
    }

    def fetch_page(self, ctx: Context, config: dict[str, Any], since: datetime, page_token: Any) -> Page:
        field = config["time_field"]
        conditions = {
            **(config.get("conditions") or {}),
            "simpleVOs": [{"field": field, "op": "egt", "value1": self._local(ctx, since).strftime(STAMP)}],
            "queryOrders": [{"field": field, "order": "asc"}],
        }
        index = int(page_token or 1)
        rows, more = list_page(ctx, config["path"], conditions, index, int(config["page_size"]))
        return Page(items=rows, next_page=index + 1 if more else None)

    def item_time(self, ctx: Context, config: dict[str, Any], item: Any) -> datetime:
        value = item.get(config["time_field"])
        try:
            stamp = datetime.fromisoformat(str(value).strip().replace(" ", "T"))
        except ValueError:
            raise PermanentError(
                f"用友: a record has no readable {config['time_field']}: {value!r}"
            ) from None
        if item.get(config["id_field"]) in (None, ""):
            raise PermanentError(f"用友: a record has no {config['id_field']}")
        return stamp.replace(tzinfo=server_zone(ctx)) if stamp.tzinfo is None else stamp

    def item_event(self, ctx: Context, config: dict[str, Any], item: Any, stamp: datetime) -> TriggerEvent:
        return TriggerEvent(
            data=item, id=f"{item[config['id_field']]}:{self._local(ctx, stamp).strftime(STAMP)}"
        )

    def read_cursor(self, ctx: Context, cursor: str) -> datetime:
        try:
            return datetime.strptime(cursor, STAMP).replace(tzinfo=server_zone(ctx))
        except ValueError:
            raise PermanentError(f"用友: stored cursor {cursor!r} is not a time") from None

    def write_cursor(self, ctx: Context, moment: datetime) -> str:
        return self._local(ctx, moment).strftime(STAMP)

    @staticmethod
    def _local(ctx: Context, moment: datetime) -> datetime:
        return moment.astimezone(server_zone(ctx)).replace(tzinfo=None)
