"""Filters and functions recipe templates use to talk to vendors: digests and signatures, encodings,
dates in the recipe's time zone, business days and decimal money.

Every failure is a FilterError naming the filter and what is wrong with its input, so a step error
reads "hmac: the key is missing" rather than a Python traceback. Dates are always timezone-aware: a
value without an offset is read in the recipe's `timezone` (the render context's `recipe.timezone`,
UTC when absent). Loops are bounded (business days, holidays) and every result stays under the
sandbox's size limits, which `hub.templating` applies to every filter and call.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import hashlib
import hmac as hmac_lib
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import babel
import babel.numbers
from jinja2 import Undefined, pass_context
from jinja2.runtime import Context

from hub import template_limits as tl
from hub.sdk.errors import RecipeError

ALGORITHMS = ("md5", "sha1", "sha256", "sha512")
ENCODINGS = ("hex", "base64")
MAX_DAYS = 1_000_000  # about 2,700 years either way: beyond it a date is a mistake, not a plan
MAX_BUSINESS_DAYS = 10_000  # about 40 years of working days
MAX_HOLIDAYS = 5_000
MAX_PLACES = 28
MAX_MONEY_DIGITS = 30  # digits before the point that format_currency will spell out
_DECIMAL_CONTEXT = decimal.Context(prec=MAX_MONEY_DIGITS + MAX_PLACES + 4, rounding=decimal.ROUND_HALF_UP)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
UTC = dt.UTC


class FilterError(RecipeError):
    """A template filter or function was given a value it cannot work with."""

    code = "template_error"


def _fail(name: str, problem: str) -> FilterError:
    return FilterError(f"{name}: {problem}")


def _kind(value: Any) -> str:
    if value is None or isinstance(value, Undefined):
        return "nothing (the value is undefined or null)"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


# -- text, digests and encodings --------------------------------------------------------------------


def _bytes(name: str, value: Any, what: str = "the value") -> bytes:
    """Text as UTF-8 (numbers as their digits); anything else is refused rather than str()-ed."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:
            raise _fail(name, f"{what} holds characters that cannot be written as UTF-8") from None
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value).encode("ascii")
    raise _fail(name, f"{what} must be text, not {_kind(value)} (use tojson first for objects)")


def _choice(name: str, value: Any, allowed: tuple[str, ...], what: str) -> str:
    chosen = value.lower() if isinstance(value, str) else value
    if chosen not in allowed:
        raise _fail(name, f"unknown {what} {_shown(value)}; use one of {', '.join(allowed)}")
    return str(chosen)


def hash_filter(value: Any, algorithm: str = "sha256") -> str:
    """`value | hash('sha256')`: the hex digest of the value's UTF-8 bytes."""
    chosen = _choice("hash", algorithm, ALGORITHMS, "algorithm")
    return hashlib.new(chosen, _bytes("hash", value)).hexdigest()


def hmac_filter(value: Any, key: Any, algorithm: str = "sha256", encoding: str = "hex") -> str:
    """`message | hmac(key, 'sha256', 'base64')`: a vendor request signature."""
    if key is None or isinstance(key, Undefined) or key == "":
        raise _fail("hmac", "the key is missing (an unset secret or field?)")
    chosen = _choice("hmac", algorithm, ALGORITHMS, "algorithm")
    form = _choice("hmac", encoding, ENCODINGS, "encoding")
    digest = hmac_lib.new(_bytes("hmac", key, "the key"), _bytes("hmac", value), chosen).digest()
    return digest.hex() if form == "hex" else base64.b64encode(digest).decode("ascii")


def b64encode(value: Any) -> str:
    """Standard Base64 (with padding) of the value's UTF-8 bytes."""
    return base64.b64encode(_bytes("b64encode", value)).decode("ascii")


def b64decode(value: Any) -> str:
    """Base64 (standard or URL-safe alphabet, padding optional) back to UTF-8 text."""
    if not isinstance(value, str | bytes):
        raise _fail("b64decode", f"the value must be Base64 text, not {_kind(value)}")
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    text = "".join(text.split())
    text += "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise _fail("b64decode", f"the value is not valid Base64 ({len(text)} characters)") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail("b64decode", "the decoded bytes are not UTF-8 text") from None


def urlencode(value: Any) -> str:
    """Percent-encode text for a URL part or a signature (`/`, `+`, `=` and spaces included); an
    object becomes `a=1&b=2` with each name and value encoded the same way."""
    if isinstance(value, Mapping):
        pairs = [(str(k), "" if v is None else v) for k, v in tl.guard_iter(value.items())]
        return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in pairs)
    return _quote(value)


def _quote(value: Any) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return quote(_bytes("urlencode", value), safe="")


def uuid4() -> str:
    """A new random UUID, e.g. for a vendor's request id."""
    return str(uuid.uuid4())


# -- dates ---------------------------------------------------------------------------------------------


def zone(name: str, value: Any) -> dt.tzinfo:
    """The IANA time zone `value` names; a FilterError naming `name` when there is none such."""
    if not isinstance(value, str) or not value.strip():
        raise _fail(name, f"a time zone must be an IANA name such as 'Asia/Shanghai', not {_kind(value)}")
    if value.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(
            name, f"unknown time zone {_shown(value)}; use an IANA name such as 'Asia/Shanghai'"
        ) from None


def recipe_zone(context: Context, name: str) -> dt.tzinfo:
    """The recipe's `timezone` from the render context, UTC when the context names none."""
    recipe = context.get("recipe")
    chosen = recipe.get("timezone") if isinstance(recipe, Mapping) else None
    return zone(name, chosen) if chosen else UTC


def _moment(name: str, value: Any, where: dt.tzinfo, fmt: Any = None) -> dt.datetime:
    """Any date-like value as an aware datetime; naive values are read in `where`."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(float(value), tz=UTC).astimezone(where)
        except (OverflowError, OSError, ValueError):
            raise _fail(name, f"{_shown(value)} is out of range for a Unix timestamp") from None
    elif isinstance(value, str):
        parsed = _parse_text(name, value.strip(), fmt)
    else:
        raise _fail(name, f"needs a date, a date-time or ISO-8601 text, not {_kind(value)}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=where)


def _parse_text(name: str, text: str, fmt: Any) -> dt.datetime:
    if fmt is not None:
        if not isinstance(fmt, str):
            raise _fail(name, f"the format must be text such as '%Y-%m-%d', not {_kind(fmt)}")
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            raise _fail(name, f"{_shown(text)} does not match the format {_shown(fmt)}") from None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise _fail(name, f"{_shown(text)} is not an ISO-8601 date or date-time; give a format") from None


def _day_or_moment(name: str, value: Any, where: dt.tzinfo) -> dt.date | dt.datetime:
    """A plain date stays a date (`'2025-06-30'`), anything else becomes an aware datetime in `where`."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATE_ONLY.match(value.strip()):
        return _moment(name, value, where).date()
    return _moment(name, value, where).astimezone(where)


def _whole(name: str, value: Any, limit: int, what: str) -> int:
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(name, f"{what} must be a whole number, not {_kind(value)}")
    if abs(value) > limit:
        raise _fail(name, f"{what} must be between -{limit} and {limit}")
    return value


@pass_context
def to_datetime(context: Context, value: Any, format: Any = None, tz: Any = None) -> dt.datetime:
    """Text, a Unix timestamp or a date as an aware datetime in `tz` (default: the recipe's zone)."""
    where = zone("to_datetime", tz) if tz is not None else recipe_zone(context, "to_datetime")
    return _moment("to_datetime", value, where, format).astimezone(where)


@pass_context
def format_datetime(context: Context, value: Any, format: Any, tz: Any = None) -> str:
    """strftime in `tz` (default: the recipe's zone), e.g. `'%Y年%m月%d日 %H:%M'`."""
    if not isinstance(format, str):
        raise _fail("format_datetime", f"the format must be text such as '%Y-%m-%d', not {_kind(format)}")
    tl.check_size(len(format) * 16, "a format_datetime result")
    where = zone("format_datetime", tz) if tz is not None else recipe_zone(context, "format_datetime")
    return _moment("format_datetime", value, where).astimezone(where).strftime(format)


@pass_context
def add_days(context: Context, value: Any, n: Any) -> dt.date | dt.datetime:
    """The same wall-clock time `n` calendar days later (earlier when negative)."""
    days = _whole("add_days", n, MAX_DAYS, "n")
    start = _day_or_moment("add_days", value, recipe_zone(context, "add_days"))
    try:
        return start + dt.timedelta(days=days)
    except OverflowError:
        raise _fail("add_days", f"{start.isoformat()} plus {days} days is outside the calendar") from None


def _days(name: str, values: Any, what: str) -> frozenset[dt.date]:
    if values is None or isinstance(values, Undefined):
        return frozenset()
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise _fail(name, f"{what} must be a list of dates such as ['2025-10-01'], not {_kind(values)}")
    days = []
    for index, item in enumerate(tl.guard_iter(values)):
        if index >= MAX_HOLIDAYS:
            raise _fail(name, f"{what} may list at most {MAX_HOLIDAYS} dates")
        day = _day_or_moment(name, item, UTC)
        days.append(day if not isinstance(day, dt.datetime) else day.date())
    return frozenset(days)


@pass_context
def add_business_days(
    context: Context, value: Any, n: Any, holidays: Any = None, workdays: Any = None
) -> dt.date | dt.datetime:
    """`n` working days later (earlier when negative): Monday to Friday except `holidays`, plus any
    weekend `workdays` (China's adjusted working days, 调休). The date is the one in the recipe's zone."""
    name = "add_business_days"
    count = _whole(name, n, MAX_BUSINESS_DAYS, "n")
    closed, opened = _days(name, holidays, "holidays"), _days(name, workdays, "workdays")
    start = _day_or_moment(name, value, recipe_zone(context, name))
    day = start.date() if isinstance(start, dt.datetime) else start
    step = dt.timedelta(days=1 if count >= 0 else -1)
    remaining = abs(count)
    try:
        while remaining:
            day += step
            if day in opened or (day.weekday() < 5 and day not in closed):
                remaining -= 1
                if remaining % 512 == 0:
                    tl.checkpoint()
    except OverflowError:
        raise _fail(name, f"{start.isoformat()} plus {count} business days is outside the calendar") from None
    return (
        start.replace(year=day.year, month=day.month, day=day.day) if isinstance(start, dt.datetime) else day
    )


@pass_context
def days_between(context: Context, a: Any, b: Any) -> int:
    """Calendar days from `a` to `b` (negative when `b` is earlier), dates taken in the recipe's zone."""
    where = recipe_zone(context, "days_between")
    first, second = (_day_or_moment("days_between", v, where) for v in (a, b))
    start = first.date() if isinstance(first, dt.datetime) else first
    end = second.date() if isinstance(second, dt.datetime) else second
    return (end - start).days


# -- decimal money ---------------------------------------------------------------------------------------


def to_decimal(value: Any) -> Decimal:
    """An exact Decimal from a number or text such as ' 1,234.50 '; NaN and infinities are refused."""
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip().replace(",", "")
        if len(text) > 100:
            raise _fail("to_decimal", f"text of {len(text)} characters is too long for a number")
        try:
            number = Decimal(text)
        except decimal.InvalidOperation:
            raise _fail("to_decimal", f"{_shown(value)} is not a number") from None
    else:
        raise _fail("to_decimal", f"needs a number or numeric text, not {_kind(value)}")
    if not number.is_finite():
        raise _fail("to_decimal", f"{_shown(value)} is not a finite number")
    return number


def round_decimal(value: Any, places: Any = 2) -> Decimal:
    """Round half up (四舍五入) to `places` decimal places, as invoices and tax do."""
    digits = _whole("round_decimal", places, MAX_PLACES, "places")
    if digits < 0:
        raise _fail("round_decimal", f"places must be between 0 and {MAX_PLACES}")
    number = to_decimal(value)
    if number.adjusted() > MAX_MONEY_DIGITS:
        raise _fail("round_decimal", f"the value has more than {MAX_MONEY_DIGITS} digits before the point")
    return number.quantize(Decimal(1).scaleb(-digits), context=_DECIMAL_CONTEXT)


def format_currency(value: Any, code: Any, locale: Any = "zh_CN") -> str:
    """The amount as the locale writes it (`¥1,234.50` for CNY in zh_CN), via Babel's CLDR data."""
    name = "format_currency"
    if not isinstance(code, str) or not _CURRENCY_CODE.match(code) or not babel.numbers.is_currency(code):
        raise _fail(name, f"{_shown(code)} is not an ISO 4217 currency code such as 'CNY' or 'USD'")
    try:
        chosen = babel.Locale.parse(str(locale))
    except (ValueError, TypeError, babel.UnknownLocaleError):
        raise _fail(name, f"unknown locale {_shown(locale)}; use one such as 'zh_CN' or 'en_US'") from None
    number = to_decimal(value)
    if number.adjusted() > MAX_MONEY_DIGITS:
        raise _fail(name, f"the amount has more than {MAX_MONEY_DIGITS} digits before the point")
    return str(babel.numbers.format_currency(number, code, locale=chosen))


FILTERS: dict[str, Callable[..., Any]] = {
    "hash": hash_filter,
    "hmac": hmac_filter,
    "b64encode": b64encode,
    "b64decode": b64decode,
    "urlencode": urlencode,
    "to_datetime": to_datetime,
    "format_datetime": format_datetime,
    "add_days": add_days,
    "add_business_days": add_business_days,
    "days_between": days_between,
    "to_decimal": to_decimal,
    "round_decimal": round_decimal,
    "format_currency": format_currency,
}

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "uuid4": uuid4,
    "days_between": days_between,
}
