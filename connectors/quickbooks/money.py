"""Amounts as Decimal from whatever a template rendered: never through float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from hub.sdk.errors import PermanentError


def decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise PermanentError(f"QuickBooks: {what} must be a number, not {value!r}")
    if isinstance(value, float):
        value = repr(value)  # the shortest text of a float that reached us, not its binary expansion
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise PermanentError(f"QuickBooks: {what} {value!r} is not a number") from exc
    if not amount.is_finite():
        raise PermanentError(f"QuickBooks: {what} must be finite")
    return amount
