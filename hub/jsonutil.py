"""The hub's one JSON policy: money stays exact, and nothing is taken in or written that cannot be
stored.

Decimals are written as their digits and read back as Decimals. Inbound JSON (webhook bodies, vendor
answers) goes through `strict_loads`, and everything written through `dumps` obeys the same rules:
no NaN or Infinity, no lone surrogate or NUL character (PostgreSQL's jsonb refuses both, and a lone
surrogate is not even UTF-8), no number outside PostgreSQL's numeric range and no nesting deeper
than MAX_DEPTH. Python's own json module accepts all of these (or dies with RecursionError on deep
nesting), which turned hostile or broken input into 500s, crashed runs and stuck pollers.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 256
# PostgreSQL numeric: at most 131072 digits before the decimal point and 16383 after it.
_PG_MAX_ADJUSTED = 131071
_PG_MAX_SCALE = 16383

# Decimals are first written as marked strings, then unquoted. The marker is random per process,
# so no string value can forge one; the pattern is compiled once.
_MARKER = uuid.uuid4().hex
_MARKED = re.compile(f'"{_MARKER}([^"]*){_MARKER}"')

_STRING_LITERAL = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
# Text that may decode to a NUL or a lone surrogate; false alarms only cost a walk of the value.
_SUSPECT = re.compile(r"[\x00\ud800-\udfff]|\\u(?:[dD][89a-fA-F]|0000)")


class InvalidJSON(ValueError):
    """JSON the hub refuses to read or write; the message names what is wrong and where."""


def dumps(
    value: Any,
    *,
    compact: bool = False,
    indent: int | None = None,
    fallback: Callable[[Any], Any] | None = None,
) -> str:
    """json.dumps where Decimal("12345678901234567.89") stays exactly those digits (never a float).

    Raises InvalidJSON rather than write text PostgreSQL would refuse (see the module docstring)."""
    marked = False

    def default(obj: Any) -> Any:
        nonlocal marked
        if isinstance(obj, decimal.Decimal):
            _check_decimal(obj)
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
    try:
        text = json.dumps(
            value, default=default, ensure_ascii=False, separators=separators, allow_nan=False, indent=indent
        )
    except RecursionError:
        raise InvalidJSON("nesting is too deep to write as JSON") from None
    except InvalidJSON:
        raise
    except ValueError as exc:  # NaN/Infinity floats, integers over Python's digit limit
        raise InvalidJSON(str(exc)) from None
    if ("\\u0000" in text and _ESCAPED_NUL.search(text)) or (not text.isascii() and _SURROGATE.search(text)):
        raise InvalidJSON(_bad_string(value) or "text has a NUL character or a lone surrogate")
    return _MARKED.sub(r"\1", text) if marked else text


def loads(text: str | bytes) -> Any:
    """json.loads with decimals as Decimal, so a stored amount is never rounded through float.

    For the hub's own stored data; anything from outside goes through strict_loads."""
    return json.loads(text, parse_float=decimal.Decimal)


def strict_loads(data: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Inbound JSON: like `loads`, but raises InvalidJSON (and nothing else) for anything the hub could
    not store: bad UTF-8, syntax errors, NaN/Infinity, lone surrogates or NUL in keys or values
    (after decoding escapes), numbers out of range, nesting deeper than `max_depth`."""
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidJSON(f"not UTF-8 (bad byte at offset {exc.start})") from None
    else:
        text = data
    if too_deep(text, max_depth):
        raise InvalidJSON(f"nesting deeper than {max_depth}")
    try:
        value = json.loads(text, parse_float=_strict_decimal, parse_constant=_refuse_constant)
    except InvalidJSON:
        raise
    except RecursionError:
        raise InvalidJSON(f"nesting deeper than {max_depth}") from None
    except ValueError as exc:  # JSONDecodeError, or an integer over Python's digit limit
        raise InvalidJSON(str(exc)) from None
    if _SUSPECT.search(text):
        problem = _bad_string(value)
        if problem:
            raise InvalidJSON(problem)
    return value


def check_storable(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Raise InvalidJSON unless `value` (already parsed) can be stored: the check for data that did not
    come through strict_loads, such as poll items and form fields a connector built."""
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, str):  # an event id, mostly: no need to serialise it to look at it
        if found := _BAD_CHAR.search(value):
            raise InvalidJSON(_describe(found.group()))
        return
    if too_deep(dumps(value), max_depth):
        raise InvalidJSON(f"nesting deeper than {max_depth}")


def too_deep(text: str, limit: int) -> bool:
    """Whether JSON `text` nests arrays/objects deeper than `limit`, without recursing: brackets inside
    strings are skipped. Text with few brackets is answered by counting alone."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for match in _BRACKET.finditer(_STRING_LITERAL.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _refuse_constant(name: str) -> Any:
    raise InvalidJSON(f"{name} is not allowed")


def _strict_decimal(text: str) -> decimal.Decimal:
    number = decimal.Decimal(text)
    _check_decimal(number)
    return number


def _check_decimal(number: decimal.Decimal) -> None:
    if not number.is_finite():
        raise InvalidJSON(f"{number} is not allowed")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if -exponent > _PG_MAX_SCALE or (number and number.adjusted() > _PG_MAX_ADJUSTED):
        raise InvalidJSON(f"number {str(number)[:20]} is out of the range that can be stored")


def _bad_string(value: Any) -> str | None:
    """The first key or string in `value` holding a NUL or a lone surrogate, as a message with its path."""
    stack: list[tuple[str, Any]] = [("$", value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            found = _BAD_CHAR.search(node)
            if found:
                return f"{_describe(found.group())} at {path}"
        elif isinstance(node, dict):
            for key, item in node.items():
                if isinstance(key, str) and (found := _BAD_CHAR.search(key)):
                    return f"{_describe(found.group())} in a key at {path}"
                stack.append((f"{path}.{key}" if isinstance(key, str) else f"{path}[{key!r}]", item))
        elif isinstance(node, list | tuple):
            stack.extend((f"{path}[{index}]", item) for index, item in enumerate(node))
    return None


def _describe(char: str) -> str:
    if char == "\x00":
        return "NUL character (\\u0000) is not allowed"
    return f"lone surrogate \\u{ord(char):04x} is not allowed"
