"""The recipe template filters and functions: each one's result, its errors, and the sandbox's limits."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub import templating
from hub.sdk.errors import TemplateError

SHANGHAI = {"recipe": {"timezone": "Asia/Shanghai"}}
# 2024 National Day: 10-01..10-07 off, Saturday 10-12 a working day (调休).
NATIONAL_DAY = [f"2024-10-0{d}" for d in range(1, 8)]


def render(source: str, context: dict[str, Any] | None = None, **event: Any) -> Any:
    return templating.render_value(source, {**(context or {}), "event": event}, "$.steps[0].input.x")


def refused(source: str, context: dict[str, Any] | None = None, **event: Any) -> str:
    with pytest.raises(TemplateError) as caught:
        render(source, context, **event)
    assert caught.value.path == "$.steps[0].input.x"
    return caught.value.message


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256", "sha512"])
def test_hash_gives_the_hex_digest_of_utf8(algorithm: str) -> None:
    expected = hashlib.new(algorithm, "李雷".encode()).hexdigest()
    assert render(f"{{{{ event.v | hash('{algorithm}') }}}}", v="李雷") == expected
    assert render("{{ 42 | hash('SHA256') }}") == hashlib.sha256(b"42").hexdigest()


def test_hash_refuses_unknown_algorithms_and_non_text() -> None:
    assert refused("{{ 'x' | hash('md6') }}") == (
        "$.steps[0].input.x: hash: unknown algorithm 'md6'; use one of md5, sha1, sha256, sha512"
    )
    assert "hash: the value must be text, not a dict" in refused("{{ event | hash('md5') }}", v=1)
    assert "hash: the value must be text, not nothing" in refused("{{ event.missing | hash('md5') }}")


def test_hmac_signs_in_hex_and_base64() -> None:
    digest = hmac.new(b"k3y", b"appKeyabc", "sha256").digest()
    assert render("{{ 'appKeyabc' | hmac('k3y', 'sha256') }}") == digest.hex()
    assert (
        render("{{ 'appKeyabc' | hmac('k3y', 'sha256', encoding='base64') }}")
        == base64.b64encode(digest).decode()
    )
    assert render("{{ 'm' | hmac('k', 'sha1', 'hex') }}") == hmac.new(b"k", b"m", "sha1").hexdigest()


def test_hmac_errors_name_the_problem() -> None:
    assert "hmac: the key is missing" in refused("{{ 'm' | hmac(event.nope, 'sha256') }}")
    assert "hmac: unknown encoding 'base32'" in refused("{{ 'm' | hmac('k', 'sha256', 'base32') }}")
    assert "hmac: unknown algorithm 'crc32'" in refused("{{ 'm' | hmac('k', 'crc32') }}")
    assert "hmac: the key must be text" in refused("{{ 'm' | hmac(['k'], 'sha256') }}")


def test_base64_round_trips_unicode_and_accepts_url_safe_unpadded_text() -> None:
    assert render("{{ '用友 API' | b64encode }}") == base64.b64encode("用友 API".encode()).decode()
    assert render("{{ '用友 API' | b64encode | b64decode }}") == "用友 API"
    unpadded = base64.urlsafe_b64encode(b"\xfb\xff?ok").decode().rstrip("=")
    assert render("{{ event.v | b64decode }}", v=base64.urlsafe_b64encode("ü?".encode()).decode()) == "ü?"
    not_text = refused("{{ event.v | b64decode }}", v=unpadded)
    assert "b64decode: the decoded bytes are not UTF-8 text" in not_text


def test_b64decode_errors_do_not_quote_the_value() -> None:
    message = refused("{{ event.v | b64decode }}", v="not*base64!")
    assert "b64decode: the value is not valid Base64" in message and "not*base64" not in message
    assert "b64decode: the value must be Base64 text, not an int" in refused("{{ 5 | b64decode }}")


def test_urlencode_encodes_every_reserved_character_and_objects() -> None:
    assert render("{{ 'a b/c+d=é' | urlencode }}") == "a%20b%2Fc%2Bd%3D%C3%A9"
    assert render("{{ {'q': '华东 区', 'n': 2, 'ok': true} | urlencode }}") == (
        "q=%E5%8D%8E%E4%B8%9C%20%E5%8C%BA&n=2&ok=true"
    )
    assert "urlencode: the value must be text, not a list" in refused("{{ [[1]] | urlencode }}")


def test_uuid4_is_a_fresh_random_uuid() -> None:
    first, second = render("{{ uuid4() }}"), render("{{ uuid4() }}")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first)
    assert first != second


def test_to_datetime_reads_naive_input_in_the_recipe_timezone() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    assert render("{{ '2025-03-01 09:30' | to_datetime }}", SHANGHAI) == dt.datetime(
        2025, 3, 1, 9, 30, tzinfo=shanghai
    )
    assert render("{{ '2025-03-01 09:30' | to_datetime }}") == dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
    # aware input keeps its instant, shown in the recipe's zone
    moment = render("{{ '2025-03-01T01:30:00Z' | to_datetime }}", SHANGHAI)
    assert moment.utcoffset() == dt.timedelta(hours=8) and moment.hour == 9
    assert render("{{ '01/03/2025' | to_datetime('%d/%m/%Y', tz='America/New_York') }}").isoformat() == (
        "2025-03-01T00:00:00-05:00"
    )
    assert render("{{ 0 | to_datetime }}") == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def test_to_datetime_errors() -> None:
    assert "to_datetime: 'soon' is not an ISO-8601 date or date-time" in refused("{{ 'soon' | to_datetime }}")
    assert "to_datetime: '2025-13-01' does not match the format '%Y-%m-%d'" in refused(
        "{{ '2025-13-01' | to_datetime('%Y-%m-%d') }}"
    )
    assert "to_datetime: unknown time zone 'Asia/Beijing'" in refused(
        "{{ '2025-01-01' | to_datetime(tz='Asia/Beijing') }}"
    )
    assert "to_datetime: needs a date" in refused("{{ [1] | to_datetime }}")
    assert "out of range for a Unix timestamp" in refused("{{ (10**20) | to_datetime }}")


def test_format_datetime_in_the_recipe_zone_or_a_given_one() -> None:
    source = "{{ '2025-01-31T16:05:00Z' | format_datetime('%Y年%m月%d日 %H:%M') }}"
    assert render(source, SHANGHAI) == "2025年02月01日 00:05"
    assert render("{{ '2025-01-31T16:05:00Z' | format_datetime('%H:%M', tz='Europe/London') }}") == "16:05"
    assert "format_datetime: the format must be text" in refused("{{ '2025-01-01' | format_datetime(5) }}")


def test_format_datetime_refuses_a_format_whose_result_would_be_huge() -> None:
    message = refused("{{ '2025-01-01' | format_datetime(event.f) }}", f="%c" * 100_000)
    assert "format_datetime result would be" in message


def test_add_days_keeps_dates_as_dates_and_times_as_local_wall_clock() -> None:
    assert render("{{ '2025-06-30' | add_days(-30) }}") == dt.date(2025, 5, 31)
    moment = render("{{ '2025-03-08T09:00:00' | add_days(2) }}", {"recipe": {"timezone": "America/New_York"}})
    assert moment.isoformat() == "2025-03-10T09:00:00-04:00"  # across the DST change, still 09:00
    assert "add_days: n must be a whole number, not a str" in refused("{{ '2025-01-01' | add_days('3') }}")
    assert "add_days: n must be between" in refused("{{ '2025-01-01' | add_days(10**7) }}")
    assert "outside the calendar" in refused("{{ '9999-12-30' | add_days(5) }}")


def test_add_business_days_in_shanghai_with_national_day_and_an_adjusted_saturday() -> None:
    source = "{{ event.d | add_business_days(event.n, holidays=event.off, workdays=['2024-10-12']) }}"
    # Monday 30 Sep + 3 working days: 1-7 Oct are off, so Tue 8, Wed 9, Thu 10 Oct.
    assert render(source, SHANGHAI, d="2024-09-30", n=3, off=NATIONAL_DAY) == dt.date(2024, 10, 10)
    # Fri 11 Oct + 1: Saturday 12 Oct is a working day that year
    assert render(source, SHANGHAI, d="2024-10-11", n=1, off=NATIONAL_DAY) == dt.date(2024, 10, 12)
    # backwards: Tue 8 Oct - 1 working day is Mon 30 Sep
    assert render(source, SHANGHAI, d="2024-10-08", n=-1, off=NATIONAL_DAY) == dt.date(2024, 9, 30)
    # an instant: 2024-09-30T17:00Z is already 1 Oct 01:00 in Shanghai; the date there counts
    moment = render(source, SHANGHAI, d="2024-09-30T17:00:00Z", n=1, off=NATIONAL_DAY)
    assert moment.isoformat() == "2024-10-08T01:00:00+08:00"
    # weekends alone, without holidays: Friday + 1 is Monday
    assert render("{{ '2025-05-09' | add_business_days(1) }}") == dt.date(2025, 5, 12)
    assert render("{{ '2025-05-09' | add_business_days(0) }}") == dt.date(2025, 5, 9)


def test_add_business_days_is_bounded_and_checks_its_lists() -> None:
    assert "add_business_days: n must be between -10000 and 10000" in refused(
        "{{ '2025-01-01' | add_business_days(10**9) }}"
    )
    one_date = refused("{{ '2025-01-01' | add_business_days(1, '2025-01-02') }}")
    assert "holidays must be a list of dates" in one_date
    assert "add_business_days: 'x' is not an ISO-8601 date" in refused(
        "{{ '2025-01-01' | add_business_days(1, ['x']) }}"
    )
    assert "at most 5000 dates" in refused("{{ '2025-01-01' | add_business_days(1, range(6000) | list) }}")
    furthest = render("{{ '2000-01-03' | add_business_days(10000) }}")
    assert furthest == dt.date(2000, 1, 3) + dt.timedelta(weeks=2000)


def test_days_between_counts_calendar_days_in_the_recipe_zone() -> None:
    assert render("{{ days_between('2025-01-01', '2025-03-01') }}") == 59
    assert render("{{ '2025-03-01' | days_between('2025-01-01') }}") == -59
    # 23:30 UTC is already the next day in Shanghai
    assert render("{{ days_between('2025-01-01T23:30:00Z', '2025-01-03') }}", SHANGHAI) == 1
    assert render("{{ days_between('2025-01-01T23:30:00Z', '2025-01-03') }}") == 2
    assert "days_between: needs a date" in refused("{{ days_between({}, '2025-01-01') }}")


def test_to_decimal_and_round_decimal_half_up() -> None:
    assert render("{{ ' 1,234.50 ' | to_decimal }}") == Decimal("1234.50")
    assert render("{{ 0.1 | to_decimal }}") == Decimal("0.1")
    assert render("{{ '2.345' | round_decimal(2) }}") == Decimal("2.35")
    assert render("{{ '2.5' | round_decimal(0) }}") == Decimal("3")
    assert render("{{ '-2.345' | round_decimal(2) }}") == Decimal("-2.35")
    assert render("{{ event.v | round_decimal(2) }}", v=Decimal("12345678901234567890123.455")) == Decimal(
        "12345678901234567890123.46"
    )
    assert "to_decimal: 'abc' is not a number" in refused("{{ 'abc' | to_decimal }}")
    assert "to_decimal: 'NaN' is not a finite number" in refused("{{ 'NaN' | to_decimal }}")
    assert "to_decimal: needs a number or numeric text, not a bool" in refused("{{ true | to_decimal }}")
    assert "round_decimal: places must be between 0 and 28" in refused("{{ 1 | round_decimal(-1) }}")
    assert "more than 30 digits" in refused("{{ '1e999999' | round_decimal(2) }}")


def test_format_currency_with_babel_locales() -> None:
    assert render("{{ '1234.5' | format_currency('CNY') }}") == "¥1,234.50"
    assert render("{{ event.v | format_currency('USD', 'en_US') }}", v=Decimal("-0.5")) == "-$0.50"
    assert render("{{ 1234.5 | format_currency('EUR', locale='de_DE') }}") == "1.234,50\xa0€"
    assert "format_currency: 'RMB' is not an ISO 4217 currency code" in refused(
        "{{ 1 | format_currency('RMB') }}"
    )
    assert "format_currency: unknown locale 'xx_YY'" in refused("{{ 1 | format_currency('CNY', 'xx_YY') }}")
    assert "more than 30 digits" in refused("{{ '1e999999' | format_currency('CNY') }}")


def test_the_sandbox_limits_still_hold_for_the_new_filters() -> None:
    big = "x" * 200_000
    # an output over the limit is refused, however it was built
    assert "exceeds" in refused("{{ event.v | b64encode }}{{ event.v | b64encode }}", v=big)
    # filters cannot be used to reach internals
    assert "not allowed" in refused("{{ (uuid4).__globals__ }}")
