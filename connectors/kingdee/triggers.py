"""bill_changed: Kingdee has no webhooks, so ExecuteBillQuery is polled by modification time."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.kingdee.actions import field_list, query_body, query_exchange
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.polling import Page, TimeWindowPolling, vendor_time
from hub.sdk.types import TriggerEvent

STAMP = "%Y-%m-%d %H:%M:%S"


def server_time(value: Any) -> datetime | None:
    """Kingdee dates ('2026-11-20T10:00:00.123' or with a space) in the server's local time, naive."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace(" ", "T"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=None)


def server_zone(ctx: Context) -> ZoneInfo:
    name = str(ctx.connection.get("server_timezone") or "Asia/Shanghai")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PermanentError(f"Kingdee: unknown server_timezone {name!r}") from exc


class BillChanged(TimeWindowPolling):
    key = "bill_changed"
    title = "Bill created or changed"
    description = (
        "Polls ExecuteBillQuery for records whose modification date is after the cursor minus an overlap "
        "window, oldest first, StartRow/Limit paging; one run per record version (id + modify date)."
    )
    default_interval_s = 300
    config_schema = {
        "type": "object",
        "required": ["form_id", "field_keys"],
        "additionalProperties": False,
        "properties": {
            "form_id": {"type": "string", "minLength": 1, "title": "Form ID (e.g. AR_receivable)"},
            "field_keys": {
                "type": ["array", "string"],
                "items": {"type": "string"},
                "title": "Field keys to return (the id and modify-date keys are added)",
            },
            "filter_string": {
                "type": "string",
                "default": "",
                "title": "Extra FilterString, ANDed (e.g. FDocumentStatus = 'C' for audited)",
            },
            "id_field": {"type": "string", "default": "FID"},
            "modify_field": {"type": "string", "default": "FModifyDate"},
            "overlap_s": {"type": "integer", "minimum": 0, "maximum": 86400, "default": 120},
            "page_size": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000},
            "max_pages": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
        },
    }
    sample = {
        "FID": 100012,
        "FBillNo": "AR00000123",
        "FDocumentStatus": "C",
        "FModifyDate": "2026-11-20T10:00:00",
    }

    default_max_pages = 10
    overlap_on_backfill = True

    def fetch_page(self, ctx: Context, config: dict[str, Any], since: datetime, page_token: Any) -> Page:
        id_field, modify_field = config["id_field"] or "FID", config["modify_field"] or "FModifyDate"
        keys = self._keys(config)
        condition = f"{modify_field} >= '{self._local(ctx, since).strftime(STAMP)}'"
        if config["filter_string"].strip():
            condition = f"({condition}) AND ({config['filter_string']})"
        start_row, limit = page_token or 0, int(config["page_size"])
        body = query_body(
            config["form_id"], keys, condition, f"{modify_field} ASC, {id_field} ASC", start_row, limit
        )
        rows, response = query_exchange(ctx, body)
        records = [{**dict(zip(keys, row, strict=False)), "_form_id": config["form_id"]} for row in rows]
        following = start_row + limit if len(rows) >= limit else None
        return Page(items=records, next_page=following, vendor_now=vendor_time(response))

    def item_time(self, ctx: Context, config: dict[str, Any], item: Any) -> datetime:
        id_field, modify_field = config["id_field"] or "FID", config["modify_field"] or "FModifyDate"
        modified = server_time(item.get(modify_field))
        if modified is None or item.get(id_field) in (None, ""):
            raise PermanentError(f"Kingdee: a {config['form_id']} row has no {id_field} or {modify_field}")
        return modified.replace(tzinfo=server_zone(ctx))

    def item_event(self, ctx: Context, config: dict[str, Any], item: Any, stamp: datetime) -> TriggerEvent:
        item_id = f"{item[config['id_field'] or 'FID']}:{self._local(ctx, stamp).isoformat()}"
        return TriggerEvent(data=item, id=item_id)

    def read_cursor(self, ctx: Context, cursor: str) -> datetime:
        start = server_time(cursor)
        if start is None:
            raise PermanentError(f"Kingdee: stored cursor {cursor!r} is not a date")
        return start.replace(tzinfo=server_zone(ctx))

    def write_cursor(self, ctx: Context, moment: datetime) -> str:
        return self._local(ctx, moment).isoformat(timespec="milliseconds")

    @staticmethod
    def _local(ctx: Context, moment: datetime) -> datetime:
        """A moment as the server's naive local time, the form its dates and filters use."""
        return moment.astimezone(server_zone(ctx)).replace(tzinfo=None)

    @staticmethod
    def _keys(config: dict[str, Any]) -> list[str]:
        id_field, modify_field = config["id_field"] or "FID", config["modify_field"] or "FModifyDate"
        return list(dict.fromkeys([id_field, modify_field, *field_list(config["field_keys"])]))
