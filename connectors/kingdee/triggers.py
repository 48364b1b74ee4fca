"""bill_changed: Kingdee has no webhooks, so ExecuteBillQuery is polled by modification time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.kingdee.actions import field_list, query_body, run_query
from hub.sdk.connector import PollingTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.types import PollResult, TriggerEvent

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


class BillChanged(PollingTrigger):
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

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        id_field = config.get("id_field") or "FID"
        modify_field = config.get("modify_field") or "FModifyDate"
        keys = list(dict.fromkeys([id_field, modify_field, *field_list(config["field_keys"])]))
        if cursor:
            start = server_time(cursor)
            if start is None:
                raise PermanentError(f"Kingdee: stored cursor {cursor!r} is not a date")
        else:
            aware = ctx.since or datetime.now(server_zone(ctx))
            start = aware.astimezone(server_zone(ctx)).replace(tzinfo=None) if aware.tzinfo else aware
        since = start - timedelta(seconds=int(config.get("overlap_s", 120)))
        condition = f"{modify_field} >= '{since.strftime(STAMP)}'"
        if (config.get("filter_string") or "").strip():
            condition = f"({condition}) AND ({config['filter_string']})"
        order = f"{modify_field} ASC, {id_field} ASC"
        limit = int(config.get("page_size") or 1000)
        items: list[TriggerEvent] = []
        seen: set[str] = set()
        newest = start if cursor else None
        for page in range(int(config.get("max_pages") or 10)):
            body = query_body(config["form_id"], keys, condition, order, page * limit, limit)
            rows = run_query(ctx, body)
            for row in rows:
                record = dict(zip(keys, row, strict=False))
                modified = server_time(record.get(modify_field))
                if modified is None or record.get(id_field) in (None, ""):
                    raise PermanentError(
                        f"Kingdee: a {config['form_id']} row has no {id_field} or {modify_field}"
                    )
                item_id = f"{record[id_field]}:{modified.isoformat()}"
                if item_id in seen:
                    continue
                seen.add(item_id)
                items.append(TriggerEvent(data={**record, "_form_id": config["form_id"]}, id=item_id))
                newest = modified if newest is None else max(newest, modified)
            if len(rows) < limit:
                break
        # The cursor moves only as far as the rows returned (stored together with it).
        return PollResult(items=items, cursor=(newest or start).isoformat(timespec="milliseconds"))
