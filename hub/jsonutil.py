"""JSON that keeps money exact: Decimals are written as their digits and read back as Decimals."""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def _plain(value: Any, marker: str, found: list[str]) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        found.append(str(value))
        return f"{marker}{len(found) - 1}{marker}"
    if isinstance(value, dict):
        return {str(k): _plain(v, marker, found) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, marker, found) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """json.dumps where Decimal("12345678901234567.89") stays exactly those digits."""
    marker = "\x00" + secrets.token_hex(4)
    found: list[str] = []
    text = json.dumps(_plain(value, marker, found), ensure_ascii=False, default=str, **kwargs)
    for index, digits in enumerate(found):
        text = text.replace(f'"{marker}{index}{marker}"'.replace("\x00", "\\u0000"), digits, 1)
    return text


def loads(text: str | bytes) -> Any:
    """json.loads with decimals as Decimal, so a stored amount is never rounded through float."""
    return json.loads(text, parse_float=Decimal)

