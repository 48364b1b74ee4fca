"""`new_entry_poll`: `GET /api/v1/forms/{form}/entries` (Basic auth), for hubs 金数据 cannot reach.

Entries come in serial_number order, 50 a page, and `next` is a serial_number cursor, so once an
entry has been seen the cursor is simply the highest serial number stored (`{"serial": n}`).
Before that (a new recipe, or a form with no entries yet), the poll asks for entries created after
a time (`created_at`, Beijing time as the API requires, less an overlap window) and keeps that
time as the cursor (`{"since": "YYYY-MM-DD HH:MM:SS"}`) until the first entry arrives. A new
recipe's time is 金数据's own (its answer's Date header), never the hub's: a 金数据 clock behind
the hub's would otherwise stamp the first entries before the cursor.
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
from hub.sdk.polling import vendor_time, with_defaults
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


def _beijing(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime(BEIJING_TIME)


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
        """Not a NewestIdPolling: until the first entry the cursor is a time on 金数据's clock."""
        config = with_defaults(self.config_schema, config)
        form, state = str(config["form"]), _state(cursor)
        last_serial = int(state["serial"]) if "serial" in state else None
        if last_serial is not None:
            entries, form_name, _ = self._read(ctx, form, {"next": last_serial}, last_serial)
        else:
            overlap = int(config["overlap_s"])
            entries, form_name, since = self._read_since(ctx, form, state.get("since"), overlap)
        labels = dict(form_labels(ctx, form)) if entries and config["use_form_labels"] else {}
        labels.update(config.get("field_labels") or {})
        items = [
            TriggerEvent(data=to_event(form, form_name, entry, labels), id=f"{form}:{serial}")
            for serial, entry in sorted(entries.items())
        ]
        if entries or last_serial is not None:
            new_cursor: dict[str, Any] = {"serial": max([*entries, last_serial or 0])}
        else:
            new_cursor = {"since": since}
        return PollResult(items=items, cursor=json.dumps(new_cursor, separators=(",", ":")))

    def _read_since(
        self, ctx: Context, form: str, since: str | None, overlap: int
    ) -> tuple[dict[int, dict[str, Any]], str | None, str]:
        """Entries created after a time cursor less the overlap, after a backfill's start, or on a first
        poll after 金数据's own now less the overlap; with the time to keep as the cursor."""
        if not since and ctx.since is not None:
            since = _beijing(ctx.since)
            entries, form_name, _ = self._read(ctx, form, {"created_at": since}, None)
            return entries, form_name, since
        first, since = not since, since or _beijing(datetime.now(UTC))
        entries, form_name, vendor_now = self._read(ctx, form, {"created_at": _earlier(since, overlap)}, None)
        if first and vendor_now is not None:
            # A first poll starts at 金数据's own now; when its clock is behind the hub's, its own last
            # overlap is read too, so entries from just before the start are stored as seen, not run.
            behind, since = _beijing(vendor_now) < since, _beijing(vendor_now)
            if behind:
                more, form_name, _ = self._read(ctx, form, {"created_at": _earlier(since, overlap)}, None)
                entries = {**more, **entries}
        return entries, form_name, since

    @staticmethod
    def _read(
        ctx: Context, form: str, params: dict[str, Any], last_serial: int | None
    ) -> tuple[dict[int, dict[str, Any]], str | None, datetime | None]:
        """Entries after `last_serial` by serial number, the form's name and 金数据's clock."""
        entries: dict[int, dict[str, Any]] = {}
        form_name, vendor_now = None, None
        for _ in range(MAX_PAGES):
            page, response = client.exchange(ctx, f"/api/v1/forms/{form}/entries", params)
            vendor_now = vendor_now or vendor_time(response)
            data = page.get("data") or []
            for entry in data:
                if isinstance(entry, dict) and (last_serial is None or serial_of(entry) > last_serial):
                    entries.setdefault(serial_of(entry), entry)
            form_name = page.get("form_name") or form_name
            following = page.get("next")
            if not data or following in (None, "") or str(following) == str(params.get("next")):
                break
            params = {**params, "next": following}
        return entries, form_name, vendor_now
