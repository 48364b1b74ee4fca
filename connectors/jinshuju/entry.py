"""One 金数据 entry as a recipe sees it, from a data push or from the entries API.

Answers are keyed `field_<n>` (or a renamed api code such as `field_name`; extended attributes
are `x_field_<n>`). `fields` repeats them under readable labels when the recipe gives a map
(or, for the poll, when the form's structure is read), so templates can say `event.fields.姓名`.
"""

from __future__ import annotations

import re
from typing import Any

from hub.sdk.errors import PermanentError

FIELD_KEY = re.compile(r"^(x_)?field_\w+$")

ENTRY_OUTPUT = {
    "type": "object",
    "required": ["form", "serial_number", "entry", "fields"],
    "properties": {
        "form": {"type": "string", "description": "The form token."},
        "form_name": {"type": ["string", "null"]},
        "serial_number": {"type": "integer"},
        "creator_name": {"type": ["string", "null"]},
        "created_at": {"type": ["string", "null"], "description": "UTC, ISO 8601."},
        "updated_at": {"type": ["string", "null"]},
        "fields": {"type": "object", "description": "Answers by label (or by field key when unlabelled)."},
        "entry": {"type": "object", "description": "The entry exactly as 金数据 sent it."},
    },
}

ENTRY_SAMPLE = {
    "form": "E0Tqhk",
    "form_name": "客户咨询登记",
    "serial_number": 123,
    "creator_name": "小王",
    "created_at": "2026-11-23T09:55:04.123Z",
    "updated_at": "2026-11-23T09:55:04.123Z",
    "fields": {"姓名": "张三", "手机": "13812345678", "field_6": "support@jinshuju.net"},
    "entry": {
        "serial_number": 123,
        "field_2": "张三",
        "field_5": "13812345678",
        "field_6": "support@jinshuju.net",
    },
}


def serial_of(entry: dict[str, Any]) -> int:
    try:
        return int(str(entry.get("serial_number")))
    except (TypeError, ValueError) as exc:
        raise PermanentError(
            f"金数据: entry without a numeric serial_number: {entry.get('serial_number')!r}"
        ) from exc


def labelled(entry: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    return {labels.get(key, key): value for key, value in entry.items() if FIELD_KEY.match(key)}


def to_event(
    form: str, form_name: str | None, entry: dict[str, Any], labels: dict[str, str]
) -> dict[str, Any]:
    return {
        "form": form,
        "form_name": form_name,
        "serial_number": serial_of(entry),
        "creator_name": entry.get("creator_name"),
        "created_at": entry.get("created_at"),
        "updated_at": entry.get("updated_at"),
        "fields": labelled(entry, labels),
        "entry": entry,
    }
