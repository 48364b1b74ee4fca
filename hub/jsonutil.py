"""JSON that keeps money exact: Decimals are written as their digits and read back as Decimals."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import uuid
from collections.abc import Callable
from typing import Any


def dumps(
    value: Any,
    *,
    compact: bool = False,
    indent: int | None = None,
    fallback: Callable[[Any], Any] | None = None,
) -> str:
    """json.dumps where Decimal("12345678901234567.89") stays exactly those digits (never a float)."""
    marker = uuid.uuid4().hex

    def default(obj: Any) -> Any:
        if isinstance(obj, decimal.Decimal):
            if not obj.is_finite():
                raise ValueError(f"{obj} cannot be written as a JSON number")
            return f"{marker}{obj}{marker}"
        if isinstance(obj, dt.date | dt.time):
            return obj.isoformat()
        if isinstance(obj, bytes):
            return obj.decode("utf-8", errors="replace")
        if fallback is not None:
            return fallback(obj)
        raise TypeError(f"{type(obj).__name__} is not JSON serialisable")

    separators = (",", ":") if compact else None
    text = json.dumps(
        value, default=default, ensure_ascii=False, separators=separators, allow_nan=False, indent=indent
    )
    return re.sub(f'"{marker}([^"]*){marker}"', r"\1", text)


def loads(text: str | bytes) -> Any:
    """json.loads with decimals as Decimal, so a stored amount is never rounded through float."""
    return json.loads(text, parse_float=decimal.Decimal)
