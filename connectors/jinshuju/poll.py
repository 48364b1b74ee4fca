"""`new_entry_poll`: `GET /api/v1/forms/{form}/entries` (Basic auth), for hubs 金数据 cannot reach.

Entries come in serial_number order, 50 a page, and `next` is a serial_number cursor, so once an
entry has been seen the cursor is simply the highest serial number stored (`{"serial": n}`).
Before that (a new recipe, or a form with no entries yet), the poll asks for entries created after
a time (`created_at`, Beijing time as the API requires, less an overlap window) and keeps that
time as the cursor (`{"since": "YYYY-MM-DD HH:MM:SS"}`) until the first entry arrives.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from connectors.jinshuju import client
from connectors.jinshuju.entry import ENTRY_OUTPUT, ENTRY_SAMPLE, serial_of, to_event
from connectors.jinshuju.push import FIELD_LABELS
from hub.sdk.connector import PollingTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.types import PollResult, TriggerEvent

BEIJING = ZoneInfo("Asia/Shanghai")
BEIJING_TIME = "%Y-%m-%d %H:%M:%S"
MAX_PAGES = 200
LABEL_CACHE_S = 600


def _state(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
        if isinstance(state, dict) and ("serial" in state or "since" in state):
            return state
    except ValueError:
        pass
    raise PermanentError(f"金数据: stored cursor {cursor!r} is not understood")


def _earlier(stamp: str, seconds: int) -> str:
    return (datetime.strptime(stamp, BEIJING_TIME) - timedelta(seconds=seconds)).strftime(BEIJING_TIME)


def form_labels(ctx: Context, form: str) -> dict[str, str]:
    """field key -> label from `GET /api/v1/forms/{form}` (`fields: [{"field_1": {"label"}}]`), cached."""
    key = ctx.cache_key(f"jinshuju_labels:{form}")
    cached = ctx.cache.get(key)
    if isinstance(cached, dict):
        return cached
    labels: dict[str, str] = {}
    for item in client.get(ctx, f"/api/v1/forms/{form}").get("fields") or []:
        for field_key, spec in item.items() if isinstance(item, dict) else []:
            if isinstance(spec, dict) and spec.get("label"):
                labels[str(field_key)] = str(spec["label"])
    ctx.cache.set(key, labels, LABEL_CACHE_S)
    return labels


class NewEntryPoll(PollingTrigger):
    key = "new_entry_poll"
    title = "New entry (polling)"
    description = "Polls a form's entries through the V1 API (needs an API key; enterprise plans)."
    default_interval_s = 300
    min_interval_s = 60
    config_schema = {
        "type": "object",
        "required": ["form"],
        "additionalProperties": False,
        "properties": {
            "form": {"type": "string", "title": "Form token", "description": "jinshuju.net/f/<token>"},
            "field_labels": FIELD_LABELS,
            "use_form_labels": {
                "type": "boolean",
                "default": True,
                "title": "Label answers with the form's field titles",
            },
            "overlap_s": {"type": "integer", "minimum": 0, "maximum": 86400, "default": 300},
        },
    }
    output_schema = ENTRY_OUTPUT
    sample = ENTRY_SAMPLE

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        form = str(config["form"])
        state = _state(cursor)
        params: dict[str, Any] = {}
        last_serial: int | None = None
        since: str | None = None
        if "serial" in state:
            last_serial = int(state["serial"])
            params["next"] = last_serial
        else:
            if state.get("since"):
                since = str(state["since"])
                params["created_at"] = _earlier(since, int(config.get("overlap_s", 300)))
            elif ctx.since is not None:
                since = params["created_at"] = ctx.since.astimezone(BEIJING).strftime(BEIJING_TIME)
            else:
                since = datetime.now(UTC).astimezone(BEIJING).strftime(BEIJING_TIME)
                params["created_at"] = _earlier(since, int(config.get("overlap_s", 300)))
        entries: dict[int, dict[str, Any]] = {}
        form_name = None
        for _ in range(MAX_PAGES):
            page = client.get(ctx, f"/api/v1/forms/{form}/entries", params)
            data = page.get("data") or []
            for entry in data:
                if not isinstance(entry, dict):
                    continue
                serial = serial_of(entry)
                if last_serial is None or serial > last_serial:
                    entries.setdefault(serial, entry)
            form_name = page.get("form_name") or form_name
            following = page.get("next")
            if not data or following in (None, "") or str(following) == str(params.get("next")):
                break
            params = {**params, "next": following}
        labels = dict(form_labels(ctx, form)) if entries and config.get("use_form_labels", True) else {}
        labels.update(config.get("field_labels") or {})
        items = [
            TriggerEvent(data=to_event(form, form_name, entry, labels), id=f"{form}:{serial}")
            for serial, entry in sorted(entries.items())
        ]
        if entries:
            new_cursor = {"serial": max(max(entries), last_serial or 0)}
        elif last_serial is not None:
            new_cursor = {"serial": last_serial}
        else:
            new_cursor = {"since": since}
        return PollResult(items=items, cursor=json.dumps(new_cursor, separators=(",", ":")))
