"""What the storage utility accepts: keys, scopes and JSON values, each checked with a clear message.

Values are kept in a canonical form (object keys sorted, numbers without trailing zeros) so that
"equal as JSON" is the same test on SQLite, which compares stored text, and on PostgreSQL, whose
jsonb compares by meaning: compare_and_set must not depend on the backend.
"""

from __future__ import annotations

import decimal
import re
from typing import Any

from hub import jsonutil

MAX_KEY = 200
MAX_VALUE_BYTES = 64 * 1024
MIN_TTL_S = 1
MAX_TTL_S = 10 * 365 * 86400  # ten years: longer is "never", which is what an absent ttl_s says
SCOPES = ("recipe", "global")
KEY_PATTERN = "^[^\\x00-\\x1f\\x7f]*$"  # JSON Schema's (ECMA) spelling: no control characters
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
STORAGE_SCOPE_PATTERN = "^(global|recipe:[1-9][0-9]{0,17})$"
_STORED_SCOPE = re.compile(STORAGE_SCOPE_PATTERN)


class InvalidValue(ValueError):
    """`field` of what was given is wrong; the message says how."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def check_key(key: Any, field: str = "key") -> str:
    if not isinstance(key, str) or not key:
        raise InvalidValue(field, "must be a non-empty string")
    if len(key) > MAX_KEY:
        raise InvalidValue(field, f"is {len(key)} characters long; at most {MAX_KEY} are allowed")
    if _CONTROL.search(key):
        raise InvalidValue(field, "must not contain control characters")
    return key


def canonical(value: Any, field: str = "value") -> Any:
    """`value` in canonical form, refused when it is not storable JSON or exceeds MAX_VALUE_BYTES."""
    try:
        normal = _normal(value)
        size = len(jsonutil.dumps(normal, compact=True).encode("utf-8"))
    except (jsonutil.InvalidJSON, TypeError, RecursionError) as exc:
        raise InvalidValue(field, f"is not storable JSON ({exc})") from None
    if size > MAX_VALUE_BYTES:
        raise InvalidValue(field, f"is {size} bytes of JSON; at most {MAX_VALUE_BYTES} are allowed")
    return normal


def _normal(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _normal(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_normal(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float | decimal.Decimal):
        return number(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def number(value: float | decimal.Decimal | int) -> int | decimal.Decimal:
    """An exact number: whole numbers as int, others as a Decimal without trailing zeros."""
    if isinstance(value, int):
        return value
    exact = decimal.Decimal(repr(value)) if isinstance(value, float) else value
    if not exact.is_finite():
        raise jsonutil.InvalidJSON(f"{value} is not allowed")
    if exact == exact.to_integral_value():
        return int(exact)
    return exact.normalize()


def recipe_scope(recipe_id: int) -> str:
    return f"recipe:{recipe_id}"


def parse_scope(text: str) -> str:
    """A stored scope as the REST API names it: `global` or `recipe:<id>`."""
    if _STORED_SCOPE.fullmatch(text):
        return text
    raise InvalidValue("scope", "must be 'global' or 'recipe:<recipe id>'")
