"""hub.templating: native values, paths in errors, conditions, and a sandbox with time and size limits."""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
from decimal import Decimal
from typing import Any

import jinja2
import pytest
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from hub import template_limits, templating
from hub.sdk.errors import RecipeError, TemplateError
from hub.templating import Limits

AMOUNT = Decimal("12345678901234567.89")


def make_ctx() -> dict[str, Any]:
    return {
        "event": {
            "amount": AMOUNT,
            "price": Decimal("19.99"),
            "huge": Decimal("1e999999999"),
            "name": "李雷",
            "tags": ["a", "b"],
            "n": 3,
            "_id": "rec-1",
            "customer": {"email": "x@example.com"},
            "when": "2026-01-02T03:04:05Z",
        },
        "steps": {"start": {"code": "I-1"}},
    }


CTX = make_ctx()


def render(value: Any, ctx: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return templating.render_value(value, CTX if ctx is None else ctx, "$.input", **kwargs)


def refused(source: str, ctx: dict[str, Any] | None = None, **kwargs: Any) -> TemplateError:
    """The render fails, having used well under 5 s of this thread's CPU: an unbounded one would not
    stop, and CPU time (not wall time) does not count the moments a loaded machine left us waiting."""
    started = time.thread_time()
    with pytest.raises(TemplateError) as caught:
        render(source, ctx, **kwargs)
    assert time.thread_time() - started < 5
    return caught.value


# -- native values ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected", "kind"),
    [
        ("{{ event.n }}", 3, int),
        ("{{ event.n * 1.5 }}", 4.5, float),
        ("{{ event.n > 2 }}", True, bool),
        ("{{ event.tags }}", ["a", "b"], list),
        ("{{ {'k': event.n, 'l': [1, 2]} }}", {"k": 3, "l": [1, 2]}, dict),
        ("{{ (1, 2) }}", [1, 2], list),
        ("{{ range(3) }}", [0, 1, 2], list),
        ("{{ event.tags | map('upper') }}", ["A", "B"], list),
        ("{{ event.customer.email }}", "x@example.com", str),
        ("  {{ event.name }}\n", "李雷", str),
        ("{{ event.price }}", Decimal("19.99"), Decimal),
        ("{{ event._id }}", "rec-1", str),
        ("{{ 'x' | safe }}", "x", str),
        ("n={{ event.n }}", "n=3", str),
        ("{{ event.n }}{{ event.n }}", "33", str),
        ("{{ event.n }} ", 3, int),
        ("{# note #}{{ event.n }}", 3, int),
        ("{% raw %}{{ event.n }}{% endraw %}", "{{ event.n }}", str),
        ("plain text", "plain text", str),
    ],
)
def test_single_expression_keeps_its_type(source: str, expected: Any, kind: type) -> None:
    result = render(source)
    assert result == expected
    assert type(result) is kind


@pytest.mark.parametrize(
    "source",
    ["{{ event.missing }}", "{{ event.missing.deeper['x'].y }}", "{{ nothing_at_all }}", "{{ none }}"],
)
def test_undefined_single_expression_becomes_none(source: str) -> None:
    assert render(source) is None


def test_undefined_never_leaks_inside_values_or_text() -> None:
    assert render("{{ [event.missing, {'a': event.nope.x}] }}") == [None, {"a": None}]
    assert render("a{{ event.missing.x }}b") == "ab"
    assert render("{{ event.missing | tojson }}") == "null"


def test_money_stays_decimal_through_arithmetic() -> None:
    assert render("{{ event.amount }}") == AMOUNT
    for source, expected in [
        ("{{ event.amount * 2 }}", Decimal("24691357802469135.78")),
        ("{{ event.price + 0.01 }}", Decimal("20.00")),
        ("{{ 0.01 + event.price }}", Decimal("20.00")),
        ("{{ event.price * 1.1 }}", Decimal("21.989")),
        ("{{ event.price - 1 }}", Decimal("18.99")),
        ("{{ [event.price, event.price, 1] | sum }}", Decimal("40.98")),
        ("{{ event.price | round(1) }}", Decimal("20.0")),
        ("{{ '19.99' | decimal * 3 }}", Decimal("59.97")),
    ]:
        result = render(source)
        assert isinstance(result, Decimal), source
        assert result == expected, source


def test_nested_values_render_with_keys_untouched() -> None:
    value = {"{{ k }}": "v", "a": ["{{ event.n }}", {"b": "x{{ event.name }}"}], "c": 5, "d": None, "e": True}
    assert render(value) == {"{{ k }}": "v", "a": [3, {"b": "x李雷"}], "c": 5, "d": None, "e": True}
    assert render(Decimal("1.5")) == Decimal("1.5")


def test_results_that_are_not_json_like_are_refused() -> None:
    assert "not a JSON-like value" in refused("{{ now }}").message
    refused("{{ ''.upper }}")


def test_render_text_always_returns_text() -> None:
    assert templating.render_text("{{ event.n }}", CTX) == "3"
    assert templating.render_text("{{ event.tags }}", CTX) == "['a', 'b']"
    assert templating.render_text("no braces", CTX) == "no braces"
    with pytest.raises(TemplateError) as caught:
        templating.render_text("{{ 1 / 0 }}", CTX, "$.body")
    assert caught.value.path == "$.body"


def test_compiled_templates_do_not_keep_context() -> None:
    source = "{{ event.n + 1 }}"
    assert render(source, {"event": {"n": 1}}) == 2
    assert render(source, {"event": {"n": 41}}) == 42


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{{ x }}", True),
        ("{% if x %}{% endif %}", True),
        ("{# c #}", True),
        ("{ x }", False),
        ("}} {{", True),
    ],
)
def test_is_template(value: str, expected: bool) -> None:
    assert templating.is_template(value) is expected


# -- errors and paths -----------------------------------------------------------------------------------


def test_errors_carry_the_path_of_the_value() -> None:
    value = {"items": [{"qty": 1}, {"qty": 2}, {"qty": "{{ 1 / 0 }}"}]}
    with pytest.raises(TemplateError) as caught:
        render(value)
    error = caught.value
    assert isinstance(error, RecipeError)
    assert error.path == "$.input.items[2].qty"
    assert error.message.startswith("$.input.items[2].qty: ZeroDivisionError")
    assert isinstance(error.__cause__, ZeroDivisionError)


def test_odd_keys_are_quoted_in_paths() -> None:
    with pytest.raises(TemplateError) as caught:
        render({"my key": "{{ 1 / 0 }}"})
    assert caught.value.path == '$.input["my key"]'


@pytest.mark.parametrize(
    ("source", "cause"),
    [
        ("{{ event.missing + 1 }}", UndefinedError),
        ("{{ 'a' + 1 }}", TypeError),
        ("{{ event.tags[5] }}", type(None)),  # a missing index is undefined, not an error
        ("{{ '{{' | fromjson }}", json.JSONDecodeError),
        ("{{ 'abc' | decimal }}", ArithmeticError),
        ("{{ range(10 ** 6) }}", OverflowError),
    ],
)
def test_runtime_failures_are_wrapped_with_one_line_messages(source: str, cause: type) -> None:
    if cause is type(None):
        assert render(source) is None
        return
    error = refused(source)
    assert isinstance(error.__cause__, cause)
    assert "\n" not in error.message and error.message.startswith("$.input: ")


def test_compile_check_reports_path_and_line() -> None:
    with pytest.raises(TemplateError) as caught:
        templating.compile_check("line one\nline two\n{{ event.n ", "$.steps[2].input.body")
    assert caught.value.path == "$.steps[2].input.body"
    assert "line 3" in caught.value.message
    assert caught.value.message.startswith("$.steps[2].input.body: syntax error")


@pytest.mark.parametrize(
    "source", ["{% if x %}unclosed", "{{ x | no_such_filter }}", "{% for %}{% endfor %}", "{{ 1 + }}"]
)
def test_compile_check_refuses_broken_templates(source: str) -> None:
    with pytest.raises(TemplateError) as caught:
        templating.compile_check(source, "$.filter")
    assert caught.value.path == "$.filter"


@pytest.mark.parametrize("source", ["plain", "{{ 1 / 0 }}", "{% for i in range(9) %}{{ i }}{% endfor %}"])
def test_compile_check_accepts_templates_that_parse(source: str) -> None:
    templating.compile_check(source, "$.filter")  # runtime errors are for render time


# -- conditions -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "truth"),
    [
        ("{{ event.n > 1 }}", True),
        ("{{ event.n > 5 }}", False),
        ("{{ event.missing }}", False),
        ("{{ event.tags }}", True),
        ("{{ [] }}", False),
        ("{{ 0 }}", False),
        ("{{ event.price - event.price }}", False),
        ("{{ 'yes' }}", True),
        ("{{ ' False ' }}", False),
        ("x{{ '' }}", True),
        ("  ", False),
        ("{% if event.n > 5 %}yes{% endif %}", False),
        ("{% if event.n %}yes{% endif %}", True),
        ("{% if event.n %}NULL{% endif %}", False),
        ("{% if event.n %} none {% endif %}", False),
        ("{% if event.n %}No{% endif %}", False),
        ("{% if event.n %}0{% endif %}", False),
        ("{% if event.n %}00{% endif %}", True),
        ("true", True),
        ("false", False),
    ],
)
def test_conditions(source: str, truth: bool) -> None:
    assert templating.evaluate_condition(source, CTX, "$.filter") is truth


def test_condition_errors_carry_the_path() -> None:
    with pytest.raises(TemplateError) as caught:
        templating.evaluate_condition("{{ 1 / 0 }}", CTX, "$.steps[1].when")
    assert caught.value.path == "$.steps[1].when"


# -- globals and filters ---------------------------------------------------------------------------------


def test_now_is_aware_utc() -> None:
    value = render("{{ now() }}")
    assert isinstance(value, dt.datetime)
    assert value.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.UTC) - value).total_seconds()) < 5


def test_tojson_keeps_decimal_digits_and_writes_dates() -> None:
    text = render("{{ {'amount': event.amount, 'name': event.name, 'at': event.when | datetime} | tojson }}")
    assert text == '{"amount": 12345678901234567.89, "name": "李雷", "at": "2026-01-02T03:04:05+00:00"}'
    assert json.loads(text, parse_float=Decimal)["amount"] == AMOUNT
    assert render("{{ [1, 2] | tojson(2) }}") == "[\n  1,\n  2\n]"
    assert render("{{ 'a\"b' | tojson }}") == '"a\\"b"'
    refused("{{ (0.0 + 'nan' | float) | tojson }}")
    refused("{{ 'NaN' | decimal | tojson }}")


def test_fromjson_reads_decimals() -> None:
    assert render("""{{ '{"a": 1.10, "b": [1]}' | fromjson }}""") == {"a": Decimal("1.10"), "b": [1]}


def test_decimal_filter() -> None:
    assert render("{{ ' 19.99 ' | decimal }}") == Decimal("19.99")
    assert render("{{ 3 | decimal }}") == Decimal(3)
    assert render("{{ 0.1 | decimal }}") == Decimal("0.1")
    refused("{{ true | decimal }}")


def test_datetime_filters() -> None:
    parsed = render("{{ event.when | datetime }}")
    assert parsed == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert render("{{ '2026-01-02T03:04:05' | datetime | isoformat }}") == "2026-01-02T03:04:05+00:00"
    assert render("{{ '2026-01-02T03:04:05+02:00' | datetime | isoformat }}") == "2026-01-02T03:04:05+02:00"
    assert render("{{ event.when | strftime('%Y/%m/%d %H:%M') }}") == "2026/01/02 03:04"
    assert render("{{ event.when | isoformat }}") == "2026-01-02T03:04:05+00:00"
    refused("{{ 'yesterday' | datetime }}")


def test_everyday_filters_still_work() -> None:
    assert render("{{ event.tags | join(', ') }}") == "a, b"
    assert render("{{ 'x\ny' | indent(2, true) }}") == "  x\n  y"
    assert render("{{ 'a b c d' | wordwrap(3) }}") == "a b\nc d"
    assert render("{{ 'ab' | center(6) }}") == "  ab  "
    assert render("{{ 'aXa' | replace('a', 'bb') }}") == "bbXbb"
    assert render("{{ '%05.1f' | format(2.25) }}") == "002.2"
    assert render("{{ range(5) | batch(2, 0) | list }}") == [[0, 1], [2, 3], [4, 0]]
    assert render("{{ range(4) | slice(2) | list }}") == [[0, 1], [2, 3]]
    assert render("{{ '7' | int + 1 }}") == 8
    assert render("{{ 'Hi {}!'.format(event.name) }}") == "Hi 李雷!"
    assert render("{{ '{a}-{b}'.format_map({'a': 1, 'b': 2}) }}") == "1-2"
    loop = "{% for i in range(4) %}{% set ns.t = ns.t + i %}{% endfor %}"
    assert render("{% set ns = namespace(t=0) %}" + loop + "{{ ns.t }}") == "6"
    assert render("{{ dict(a=1) }}") == {"a": 1}


# -- sandbox escapes ------------------------------------------------------------------------------------


ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__ }}",
    "{{ (1).__class__.__base__.__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__dict__ }}",
    "{{ ''.format.__self__ }}",
    "{{ ''.format_map.__self__ }}",
    "{{ '{0.__class__}'.format('') }}",
    "{{ '{0[__class__]}'.format('') }}",
    "{{ '{x.__class__}'.format_map({'x': ''}) }}",
    "{{ '{0.__globals__}'.format(now) }}",
    "{{ range.__self__ }}",
    "{{ range.__globals__ }}",
    "{{ range(3)._range }}",
    "{{ now.__globals__ }}",
    "{{ now().__class__ }}",
    "{{ now()._private }}",
    "{{ event.__class__ }}",
    "{{ event._not_a_key }}",
    "{{ event['__class__'] }}",
    "{{ dict.mro() }}",
    "{{ dict.__subclasses__() }}",
    "{{ dict.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{% set ns = namespace() %}{{ ns._Namespace__attrs }}",
    "{% set ns = namespace() %}{{ ns.__init__.__globals__ }}",
    "{% set ns = namespace() %}{% set ns.__class__ = 1 %}{{ ns.__class__ }}",
    "{{ ''|attr('__class__') }}",
    "{{ event.tags | map(attribute='__class__') | list }}",
    "{{ event.tags | sort(attribute='__class__') }}",
    "{{ (event.tags | map('upper')).gi_frame }}",
    "{{ (event.tags | map('upper')).gi_code }}",
    "{% macro m() %}{% endmacro %}{{ m._func.__globals__ }}",
    "{% for x in [1] %}{{ loop._iterator }}{% endfor %}",
    "{{ event.tags.append(1) }}",
    "{{ event.update({'x': 1}) }}",
    "{{ event.pop('n') }}",
    "{% include 'secrets.txt' %}",
    "{% import 'os' as os %}",
    "{% extends 'base.html' %}",
]


@pytest.mark.parametrize("escape", ESCAPES)
def test_escape_tricks_are_refused(escape: str) -> None:
    ctx = make_ctx()
    before = copy.deepcopy(ctx)
    error = refused(escape, ctx)
    assert error.path == "$.input"
    assert not isinstance(error.__cause__, TemplateError)
    assert ctx == before


@pytest.mark.parametrize("escape", ESCAPES[:12])
def test_escapes_are_refused_as_security_errors(escape: str) -> None:
    assert isinstance(refused(escape).__cause__, SecurityError)


@pytest.mark.parametrize(
    "name", ["lipsum", "cycler", "joiner", "config", "request", "session", "g", "url_for"]
)
def test_absent_globals_are_simply_undefined(name: str) -> None:
    assert render("{{ " + name + " }}") is None
    assert render("[{{ " + name + " }}]") == "[]"


def test_environment_is_our_own_sandbox() -> None:
    env = templating.environment()
    assert env is templating.environment()
    assert isinstance(env, ImmutableSandboxedEnvironment)
    assert type(env).__module__ == "hub.templating"
    assert env.loader is None and env.autoescape is False
    assert {"range", "dict", "namespace", "now"} <= set(env.globals)
    assert not {"lipsum", "cycler", "joiner"} & set(env.globals)


def test_jinja_has_the_sandbox_fixes() -> None:
    major, minor, patch = (int(part) for part in jinja2.__version__.split(".")[:3])
    assert (major, minor, patch) >= (3, 1, 6)


# -- limits ---------------------------------------------------------------------------------------------


def test_output_is_capped_while_generating() -> None:
    calls = []

    def chunk() -> str:
        calls.append(1)
        return "x" * 1000

    error = refused("{% for i in range(100000) %}{{ chunk() }}{% endfor %}", {"chunk": chunk})
    assert "output exceeds 262144 bytes" in error.message
    assert len(calls) <= 264  # stopped at the cap, not after building 100 MB


def test_output_cap_counts_bytes_and_allows_the_limit() -> None:
    assert len(render("a{{ 'x' * 262143 }}")) == 262144
    assert len(render("{{ 'x' * 262144 }}")) == 262144
    refused("a{{ 'x' * 262144 }}")
    assert "exceeds" in refused("{% for i in range(70000) %}éé{% endfor %}").message  # 140k chars, 280k bytes
    assert "exceeds" in refused("{{ 'é' * 140000 }}").message


def test_limits_can_be_configured() -> None:
    small = Limits(max_output_bytes=10, max_value_size=50)
    assert render("{{ 'x' * 10 }}", limits=small) == "x" * 10
    assert "exceeds 10 bytes" in refused("{{ 'x' * 11 }}", limits=small).message
    refused("{{ [1] * 60 }}", limits=small)


@pytest.mark.parametrize(
    "loop",
    [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ '' }}{% endfor %}{% endfor %}",
        "{% for i in range(100000) %}{% for j in event.tags * 50000 %}{% endfor %}{% endfor %}",
        "{{ range(100000) | batch(1) | sum(start=[]) }}",
        "{% macro f(n) %}{% for i in range(10) %}{{ f(n) }}{% endfor %}{% endmacro %}{{ f(1) }}",
        "{% for i in range(100000) recursive %}{{ loop(range(100000)) }}{% endfor %}",
    ],
)
def test_render_time_is_bounded(loop: str) -> None:
    refused(loop)


def test_time_limit_message_and_configuration() -> None:
    error = refused("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
    assert "render time exceeds 0.5 s" in error.message
    started = time.thread_time()
    error = refused(
        "{% for i in range(100000) %}{% for j in range(100) %}{% endfor %}{% endfor %}",
        limits=Limits(max_seconds=0.05),
    )
    assert "render time exceeds 0.05 s" in error.message
    assert time.thread_time() - started < 2


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def tick(self) -> str:
        self.now += 0.3
        return "t"


def test_one_deadline_covers_the_whole_render_value_call(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(template_limits, "_clock", clock)
    ctx = {"tick": clock.tick}
    for _ in range(3):  # each call alone stays within 0.5 s
        assert templating.render_value("{{ tick() }}", ctx) == "t"
    with pytest.raises(TemplateError) as caught:
        templating.render_value({"a": "{{ tick() }}", "b": ["{{ tick() }}", "{{ tick() }}"]}, ctx)
    assert caught.value.path == "$.b[1]"
    assert "render time" in caught.value.message


BOMBS = [
    "{{ 'a' * 1000000000 }}",
    "{{ 1000000000 * 'a' }}",
    "{{ [1] * 100000000 }}",
    "{{ (1,) * 100000000 }}",
    "{{ 10 ** (10 ** 8) }}",
    "{{ 9 ** 999999 }}",
    "{{ '%999999999d' % 1 }}",
    "{{ '%.999999999f' % 1.0 }}",
    "{{ '%*d' % (999999999, 1) }}",
    "{{ ('%(a)s' * 100000) % {'a': 'x' * 100000} }}",
    "{{ '%09999999d' | format(1) }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ '{:{w}}'.format(1, w=999999999) }}",
    "{{ ('{0}' * 100000).format('x' * 100000) }}",
    "{{ 'x'.ljust(999999999) }}",
    "{{ 'x'.zfill(999999999) }}",
    "{{ 'x'.center(999999999) }}",
    "{{ ('\t' * 1000).expandtabs(100000) }}",
    "{{ ('x' * 1000).replace('x', 'y' * 100000) }}",
    "{{ ('x' * 100000).join(['a'] * 1000) }}",
    "{{ 'aaaa'.translate({97: 'x' * 1000000}) }}",
    "{{ (1).to_bytes(1000000000, 'big') }}",
    "{{ 'a' | center(999999999) }}",
    "{{ ('a\n' * 100000) | indent(1000) }}",
    "{{ ('a\n' * 1000) | indent('x' * 100000) }}",
    "{{ ('a ' * 1000) | wordwrap(1, wrapstring='x' * 10000) }}",
    "{{ ('x' * 100000) | wordwrap(1) }}",
    "{{ ('x' * 1000) | replace('x', 'y' * 100000) }}",
    "{{ range(100000) | join('x' * 100) }}",
    "{{ [1] | batch(1000000000, 'x') }}",
    "{{ [1] | slice(100000000) | list }}",
    "{{ ('&' * 1000000) | forceescape | forceescape }}",
    "{{ 5 | round(-1000000000) }}",
    "{{ 5 | round(-100000, 'floor') }}",
    "{{ event.huge | int }}",
    "{{ '%d' % event.huge }}",
    "{{ '{:f}'.format(event.huge) }}",
    "{{ event.huge.as_integer_ratio() }}",
    "{{ 'x' * 1048576 ~ 'x' * 1048576 }}",
    "{% set ns = namespace(s='xx') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "{% set ns = namespace(s='xx') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
    "{% set ns = namespace(s=[1]) %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
    "{% set a = ['x' * 1000] * 100 %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}"
    "{% set c = [b, b, b, b, b, b, b, b, b, b] %}{{ c == c }}",
    "{% set a = ('x' * 1000,) * 100 %}{% set b = {'k': a, 'l': a, 'm': a, 'n': a, 'o': a, 'p': a, 'q': a} %}"
    "{% set c = (b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b) %}{{ c }}",
    "{{ dict.fromkeys(range(100000), 'x' * 1000) }}",
    "{% macro m() %}{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}{% endmacro %}{% set x = m() %}",
    "{% set x %}{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}{% endset %}",
    "{% filter upper %}{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}{% endfilter %}",
    "{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}",
]


@pytest.mark.parametrize("bomb", BOMBS)
def test_memory_bombs_are_refused_quickly(bomb: str) -> None:
    error = refused(bomb)
    assert not isinstance(error.__cause__, MemoryError)


def test_limits_do_not_refuse_reasonable_sizes() -> None:
    assert render("{{ ('x' * 1000) | center(2000) | length }}") == 2000
    assert render("{{ '%10d' % 5 }}") == "         5"
    assert render("{{ 2 ** 8000 > 0 }}") is True
    assert render("{{ range(100000) | list | length }}") == 100000
    assert render("{{ ('ab' * 1000) | replace('a', 'xyz') | length }}") == 4000
    assert render("{{ [[1, 2]] * 3 }}") == [[1, 2], [1, 2], [1, 2]]
    assert render("{% set a = [1, 2] %}{{ [a, a, a] }}") == "[[1, 2], [1, 2], [1, 2]]"


def test_strings_of_one_value_share_their_names_but_not_each_others_assignments() -> None:
    """The context and the functions are merged once per value rendered and shared by its strings'
    contexts: what one string sets stays its own, and the caller's context is left as it was."""
    ctx = make_ctx()
    before = dict(ctx)
    rendered = render(
        {
            "a": "{% set event = {'id': 'mine'} %}{{ event.id }}",
            "b": "{{ event._id }}",
            "c": "{{ 'x' | upper }}",
        },
        ctx,
    )
    assert rendered == {"a": "mine", "b": "rec-1", "c": "X"}
    assert ctx == before
