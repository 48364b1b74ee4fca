"""The hub's own sandboxed Jinja environment: recipe values, filters and conditions.

Never Flask's environment: an ImmutableSandboxedEnvironment with no loader, a small set of
globals, and the limits of hub.template_limits applied to every call, loop and operator.
A value that is exactly one `{{ expression }}` keeps the expression's type.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from hub import jsonutil, template_limits
from hub.sdk.errors import TemplateError

_SINGLE = re.compile(r"^\s*\{\{(?P<expr>.*?)\}\}\s*$", re.DOTALL)
_FALSE_WORDS = {"", "false", "0", "no", "none", "null", "off"}


class _LimitedCodeGenerator(CodeGenerator):
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.hub_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class HubSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox plus time, size and loop limits."""

    code_generator_class = _LimitedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    hub_join = staticmethod(template_limits.checked_join)
    hub_loop = staticmethod(template_limits.timed_iter)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        """Refuse, rather than quietly render empty, any reach for internals."""
        raise TemplateError(f"access to attribute '{attribute}' of {type(obj).__name__} is not allowed")

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.EnvironmentAttribute("hub_loop"), [loop.iter], [], None, None)
        return tree

    def wrap_str_format(self, value: Any) -> Any:
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str) and getattr(value, "__name__", "") in ("format", "format_map"):
            template_limits.check_format_widths(owner)
        return super().wrap_str_format(value)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        template_limits.check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        template_limits.check_time()
        template_limits.check_method_call(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        template_limits.check_time()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        template_limits.check_time()
        return super().getitem(obj, argument)


def _tojson(value: Any, indent: int | None = None) -> str:
    return (
        jsonutil.dumps(value)
        if indent is None
        else json.dumps(jsonutil.loads(jsonutil.dumps(value)), indent=indent)
    )


def _fromjson(value: Any) -> Any:
    try:
        return jsonutil.loads(str(value))
    except ValueError as exc:
        raise TemplateError(f"fromjson: not valid JSON: {exc}") from exc


def _decimal(value: Any) -> decimal.Decimal:
    try:
        return decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation as exc:
        raise TemplateError(f"decimal: {value!r} is not a number") from exc


def _datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise TemplateError(f"datetime: {value!r} is not an ISO-8601 date-time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _isoformat(value: Any) -> str:
    return _datetime(value).isoformat()


def _strftime(value: Any, pattern: str) -> str:
    template_limits.check_format_widths(pattern)
    return _datetime(value).strftime(pattern)


@lru_cache(maxsize=1)
def environment() -> HubSandbox:
    env = HubSandbox(autoescape=False, undefined=ChainableUndefined, keep_trailing_newline=True, cache_size=0)
    for name in ("lipsum", "cycler", "joiner"):
        env.globals.pop(name, None)
    env.globals["now"] = lambda: dt.datetime.now(dt.UTC)
    for name in ("center", "indent", "replace", "join", "format"):
        env.filters[name] = _guard_filter(name, env.filters[name])
    env.filters.update(
        tojson=_tojson,
        fromjson=_fromjson,
        decimal=_decimal,
        datetime=_datetime,
        isoformat=_isoformat,
        strftime=_strftime,
    )
    return env


def _guard_filter(name: str, original: Any) -> Any:
    """Wrap a built-in filter with pre-checks, keeping Jinja's pass-context/eval-context marker."""
    marker = getattr(original, "jinja_pass_arg", None)

    def check(value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        template_limits.check_time()
        widths = [a for a in (*args, *kwargs.values()) if isinstance(a, int) and not isinstance(a, bool)]
        if name in ("center", "indent") and widths:
            lines = str(value).count("\n") + 1
            template_limits.check_size(max(widths) * lines + len(str(value)), f"the {name} filter")
        elif name == "replace" and len(args) >= 2:
            template_limits.check_method_call(str(value).replace, (str(args[0]), str(args[1])), {})
        elif name == "join" and isinstance(value, list | tuple):
            separator = str(args[0]) if args else ""
            template_limits.check_size(sum(len(str(v)) for v in value) + len(separator) * len(value), "join")
        elif name == "format":
            template_limits.check_format_widths(str(value))

    if marker is None:

        def plain(value: Any, *args: Any, **kwargs: Any) -> Any:
            check(value, args, kwargs)
            return original(value, *args, **kwargs)

        return plain

    def passing(first: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        check(value, args, kwargs)
        return original(first, value, *args, **kwargs)

    passing.jinja_pass_arg = marker  # type: ignore[attr-defined]
    return passing


def is_template(value: str) -> bool:
    return "{{" in value or "{%" in value or "{#" in value


def _fail(path: str, exc: BaseException) -> TemplateError:
    if isinstance(exc, TemplateError):
        message = exc.message
    elif isinstance(exc, TemplateSyntaxError):
        message = f"template syntax error on line {exc.lineno}: {exc.message}"
    elif isinstance(exc, RecursionError):
        message = "template recursion is too deep"
    else:
        message = f"{type(exc).__name__}: {exc}"
    return TemplateError(f"{path}: {message}", path=path)


@lru_cache(maxsize=4096)
def _compiled(source: str) -> Any:
    return environment().from_string(source)


@lru_cache(maxsize=4096)
def _compiled_expression(expression: str) -> Any:
    return environment().compile_expression(expression, undefined_to_none=False)


def _single_expression(source: str) -> str | None:
    match = _SINGLE.match(source)
    if match is None:
        return None
    expr = match.group("expr")
    return None if ("{{" in expr or "}}" in expr or "{%" in expr or "{#" in expr) else expr


def compile_check(source: str, path: str) -> None:
    """Raise TemplateError naming `path` when `source` does not parse."""
    try:
        _compiled(source)
    except Exception as exc:
        raise _fail(path, exc) from exc


def _native(value: Any) -> Any:
    return None if isinstance(value, Undefined) else value


def _render_string(source: str, context: dict[str, Any], path: str) -> Any:
    if not is_template(source):
        return source
    try:
        expression = _single_expression(source)
        if expression is not None:
            return _native(_compiled_expression(expression)(**context))
        return render_text_unchecked(source, context)
    except Exception as exc:
        raise _fail(path, exc) from exc


def render_text_unchecked(source: str, context: dict[str, Any]) -> str:
    limit = template_limits.LIMITS.max_output_chars
    parts: list[str] = []
    size = 0
    for chunk in _compiled(source).generate(**context):
        size += len(chunk)
        if size > limit:
            raise TemplateError(f"output exceeds {limit} characters")
        parts.append(chunk)
    return "".join(parts)


def _walk(value: Any, context: dict[str, Any], path: str) -> Any:
    if isinstance(value, str):
        return _render_string(value, context, path)
    if isinstance(value, dict):
        return {key: _walk(item, context, f"{path}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_walk(item, context, f"{path}[{index}]") for index, item in enumerate(value)]
    return value


def render_value(value: Any, context: dict[str, Any], path: str = "$") -> Any:
    """Render every string in a JSON-like value; a lone `{{ expr }}` keeps its native type."""
    with template_limits.Deadline():
        return _walk(value, context, path)


def render_text(source: str, context: dict[str, Any], path: str = "$") -> str:
    """Render a template to text, whatever it holds."""
    with template_limits.Deadline():
        try:
            return render_text_unchecked(source, context)
        except Exception as exc:
            raise _fail(path, exc) from exc


def evaluate_condition(source: str, context: dict[str, Any], path: str) -> bool:
    """Truthiness of a `filter` or `when`: native for one expression, else of the rendered text."""
    value = render_value(source, context, path)
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE_WORDS
    return bool(value)
