"""JSON that keeps money exact: Decimals are written as their digits and read back as Decimals."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

# Decimals are first written as marked strings, then unquoted. The marker is random per process,
# so no string value can forge one; the pattern is compiled once.
_MARKER = uuid.uuid4().hex
_MARKED = re.compile(f'"{_MARKER}([^"]*){_MARKER}"')


def dumps(
    value: Any,
    *,
    compact: bool = False,
    indent: int | None = None,
    fallback: Callable[[Any], Any] | None = None,
) -> str:
    """json.dumps where Decimal("12345678901234567.89") stays exactly those digits (never a float)."""
    marked = False

    def default(obj: Any) -> Any:
        nonlocal marked
        if isinstance(obj, decimal.Decimal):
            if not obj.is_finite():
                raise ValueError(f"{obj} cannot be written as a JSON number")
            marked = True
            return f"{_MARKER}{obj}{_MARKER}"
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
    return _MARKED.sub(r"\1", text) if marked else text


def loads(text: str | bytes) -> Any:
    """json.loads with decimals as Decimal, so a stored amount is never rounded through float."""
    return json.loads(text, parse_float=decimal.Decimal)
