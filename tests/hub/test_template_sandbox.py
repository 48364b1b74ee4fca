"""Templates: native types, paths in errors, and a sandbox that hostile templates cannot escape or stall."""

from __future__ import annotations

import time
from datetime import UTC
from decimal import Decimal
from typing import Any

import pytest

from hub import templating
from hub.sdk.errors import TemplateError

CTX: dict[str, Any] = {
    "event": {
        "amount": Decimal("12345678901234567.89"),
        "name": "李雷",
        "tags": ["a", "b"],
        "n": 3,
        "_headers": {"X": "1"},
    },
    "steps": {"start": {"instance_code": "I-1"}},
}


def render(value: Any) -> Any:
    return templating.render_value(value, CTX, "$.input")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ event.n }}", 3),
        ("{{ event.n > 2 }}", True),
        ("{{ event.tags }}", ["a", "b"]),
        ("{{ {'k': event.n} }}", {"k": 3}),
        ("  {{ event.name }}  ", "李雷"),
        ("{{ event.missing }}", None),
        ("{{ event.missing.deeper }}", None),
        ("n={{ event.n }}", "n=3"),
        ("{{ event.n }}{{ event.n }}", "33"),
        ("{{ event._headers.X }}", "1"),
        ("no template", "no template"),
    ],
)
def test_one_expression_keeps_its_type(template: str, expected: Any) -> None:
    assert render(template) == expected


def test_money_stays_decimal_through_arithmetic_and_json() -> None:
    assert render("{{ event.amount }}") == Decimal("12345678901234567.89")
    doubled = render("{{ event.amount * 2 }}")
    assert isinstance(doubled, Decimal) and doubled == Decimal("24691357802469135.78")
    assert render("{{ event | tojson }}").startswith('{"amount": 12345678901234567.89')
    assert render("{{ '19.99' | decimal }}") == Decimal("19.99")


def test_nested_values_render_and_errors_carry_the_path() -> None:
    out = render({"a": ["{{ event.n }}", {"b": "x{{ event.name }}"}], "c": 5})
    assert out == {"a": [3, {"b": "x李雷"}], "c": 5}
    with pytest.raises(TemplateError) as caught:
        render({"a": [1, {"b": "{{ 1 / 0 }}"}]})
    assert caught.value.path == "$.input.a[1].b"
    assert "ZeroDivisionError" in caught.value.message


@pytest.mark.parametrize(
    ("source", "truth"),
    [
        ("{{ event.n > 1 }}", True),
        ("{{ event.n > 5 }}", False),
        ("{{ event.missing }}", False),
        ("{{ event.tags }}", True),
        ("x{{ '' }}", True),
        (" {% if false %}y{% endif %} ", False),
        ("{{ 'no' }}", False),
        ("{{ 'false' }}", False),
        ("{{ 'yes' }}", True),
        ("{% if event.n %}no{% endif %}", False),
        ("{% if event.n %}yes{% endif %}", True),
    ],
)
def test_conditions(source: str, truth: bool) -> None:
    assert templating.evaluate_condition(source, CTX, "$.filter") is truth


def test_syntax_errors_name_path_and_line() -> None:
    with pytest.raises(TemplateError) as caught:
        templating.compile_check("line one\n{{ event.n ", "$.steps[2].input.body")
    assert caught.value.path == "$.steps[2].input.body"
    assert "line 2" in caught.value.message


def test_now_is_aware_utc() -> None:
    assert render("{{ now() }}").tzinfo == UTC
    assert render("{{ '2026-01-02T03:04:05Z' | datetime | isoformat }}") == "2026-01-02T03:04:05+00:00"


@pytest.mark.parametrize(
    "escape",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ ''.__class__ }}",
        "{{ event.__class__ }}",
        "{{ self._TemplateReference__context }}",
        "{{ '{0.__class__}'.format('') }}",
        "{{ '{0.__globals__}'.format(now) }}",
        "{{ ''|attr('__class__') }}",
        "{{ ''.__class__.__name__ }}",
        "{{ now.__globals__ }}",
        "{{ now.__code__ }}",
        "{{ (0).__class__.__base__.__subclasses__() }}",
        "{{ dict.__init__.__globals__ }}",
        "{% set ns = namespace() %}{{ ns.__init__.__globals__ }}",
        "{{ event.tags.append(1) }}",
        "{{ event.update({'x': 1}) }}",
        "{{ ''.format_map.__self__.__class__ }}",
        "{{ self.__init__ }}",
        "{{ range.__self__ }}",
        "{{ ''.format.__self__ }}",
    ],
)
def test_escape_tricks_are_refused(escape: str) -> None:
    """Refused outright, or at most resolved to nothing: never an internal object or a side effect."""
    try:
        leaked = render(escape)
    except TemplateError:
        leaked = None
    assert leaked in (None, "")
    assert CTX["event"]["tags"] == ["a", "b"] and "x" not in CTX["event"]


@pytest.mark.parametrize("name", ["lipsum", "cycler", "joiner", "config", "request", "g", "session"])
def test_dangerous_globals_are_absent(name: str) -> None:
    assert render("{{ " + name + " }}") is None


@pytest.mark.parametrize(
    "bomb",
    [
        "{{ 'a' * 1000000000 }}",
        "{{ [1] * 100000000 }}",
        "{{ 9 ** 999999 }}",
        "{{ '%999999999d' % 1 }}",
        "{{ 'a' | center(999999999) }}",
        "{{ 'a' | indent(999999999, true) }}",
        "{{ 'x' * 1000 | replace('x', 'y' * 100000) }}",
        "{{ ('x' * 1000).replace('x', 'y' * 100000) }}",
        "{{ 'x'.ljust(999999999) }}",
        "{{ 'x'.zfill(999999999) }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ '%s' | format('x') ~ ('a' * 1048576) ~ ('a' * 1048576) }}",
        "{% set ns = namespace(s='xx') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "{% set ns = namespace(s='xx') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
        "{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}",
    ],
)
def test_memory_bombs_are_refused_quickly(bomb: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateError):
        render(bomb)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "loop",
    [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ '' }}{% endfor %}{% endfor %}",
        "{% macro f(n) %}{% for i in range(10) %}{{ f(n) }}{% endfor %}{% endmacro %}{{ f(1) }}",
        "{{ range(100000) | map('string') | map('length') | sum }}{% for a in range(99999) %}"
        "{% for b in range(99999) %}{% endfor %}{% endfor %}",
    ],
)
def test_render_time_is_bounded(loop: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateError):
        render(loop)
    assert time.monotonic() - started < 5


def test_output_size_is_bounded() -> None:
    with pytest.raises(TemplateError) as caught:
        render("{% for i in range(3000) %}{{ 'y' * 100 }}{% endfor %}")
    assert "output exceeds" in caught.value.message


def test_flask_environment_is_never_used() -> None:
    env = templating.environment()
    assert env.loader is None
    assert type(env).__mro__[1].__name__ == "ImmutableSandboxedEnvironment"
