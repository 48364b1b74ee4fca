"""The hub's own sandboxed Jinja environment for recipe values, filters and `when` conditions.

Never Flask's environment: an ImmutableSandboxedEnvironment with no loader, a short list of
globals, and the limits of hub.template_limits on every call, loop, operator and output. A value
that is exactly one `{{ expression }}` keeps the expression's Python type (Decimal money stays
Decimal); anything else renders to text. Every failure becomes a TemplateError naming the JSON path.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jinja2 import ChainableUndefined, Undefined, nodes
from jinja2.environment import Template
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

from hub import jsonutil
from hub import template_functions as tf
from hub import template_limits as tl
from hub.db.errors import is_transient
from hub.sdk.errors import RecipeError, TemplateError
from hub.template_limits import DEFAULT_LIMITS, LimitExceeded, Limits

__all__ = [
    "DEFAULT_LIMITS",
    "Limits",
    "compile_check",
    "environment",
    "evaluate_condition",
    "is_template",
    "render_text",
    "render_value",
]

_FALSE_WORDS = frozenset({"", "false", "0", "no", "none", "null"})
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Guard(NodeTransformer):
    """Rewrites the parsed template so loops, `~` and literals go through the limit checks."""

    @staticmethod
    def _wrap(name: str, args: Sequence[nodes.Node], lineno: int) -> nodes.Call:
        return nodes.Call(
            nodes.EnvironmentAttribute(name, lineno=lineno), args, [], None, None, lineno=lineno
        )

    def visit_For(self, node: nodes.For) -> nodes.For:
        self.generic_visit(node)
        node.iter = self._wrap("hub_iter", [node.iter], node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Call:
        self.generic_visit(node)
        return self._wrap("hub_concat", node.nodes, node.lineno)

    def visit_List(self, node: nodes.Expr) -> nodes.Expr:
        self.generic_visit(node)
        if isinstance(node, nodes.Tuple) and node.ctx != "load":
            return node
        return self._wrap("hub_container", [node], node.lineno)

    visit_Tuple = visit_Dict = visit_List


class HubSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox plus deadlines, size limits and outright refusal of internals."""

    intercepted_binops = frozenset(tl._BINOPS)
    intercepted_unops = frozenset({"+", "-"})
    hub_iter = staticmethod(tl.guard_iter)
    hub_concat = staticmethod(tl.concat_values)
    hub_container = staticmethod(tl.checked_container)

    def __init__(self) -> None:
        # optimized=False: no constant folding, so nothing a template says runs at compile time.
        super().__init__(
            autoescape=False,
            undefined=ChainableUndefined,
            finalize=tl.finalize,
            keep_trailing_newline=True,
            optimized=False,
        )
        self.concat = tl.bounded_concat  # type: ignore[assignment]

    def _generate(
        self, source: nodes.Template, name: str | None, filename: str | None, defer_init: bool = False
    ) -> str:
        _Guard().visit(source)
        source.set_environment(self)
        return super()._generate(source, name, filename, defer_init=defer_init)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        """Refuse, rather than quietly render empty, any reach for internals."""
        raise SecurityError(f"access to attribute {attribute!r} of a {type(obj).__name__} is not allowed")

    def getattr(self, obj: Any, attribute: str) -> Any:
        tl.checkpoint()
        if attribute.startswith("_"):
            if isinstance(obj, Mapping) and attribute in obj:
                return obj[attribute]  # payload data such as `_id`, never the Python attribute
            return self.unsafe_undefined(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        tl.checkpoint()
        return super().getitem(obj, argument)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        tl.checkpoint()
        args = tl.check_call(obj, args, kwargs)
        return tl.check_result(super().call(context, obj, *args, **kwargs), "a call result")

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        return tl.binop(operator, left, right)

    def call_unop(self, context: Any, operator: str, arg: Any) -> Any:
        tl.checkpoint()
        return super().call_unop(context, operator, arg)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`str.format` / `format_map` through a formatter that is both sandboxed and size-bounded."""
        if not isinstance(value, types.MethodType | types.BuiltinMethodType):
            return None
        owner = getattr(value, "__self__", None)
        if value.__name__ not in ("format", "format_map") or not isinstance(owner, str):
            return None
        is_map = value.__name__ == "format_map"

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one positional argument")
                kwargs, args = args[0], ()
            formatter: tl.LimitedFormatter | tl.LimitedEscapeFormatter
            if isinstance(owner, Markup):
                formatter = tl.LimitedEscapeFormatter(self, escape=owner.escape)
            else:
                formatter = tl.LimitedFormatter(self)
            return type(owner)(formatter.vformat(owner, args, kwargs))

        return functools.update_wrapper(wrapper, value)


# -- filters and globals ----------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _tojson(value: Any, indent: int | None = None) -> str:
    """Plain JSON (not HTML-escaped): Decimals as their exact digits, dates as ISO-8601."""
    if indent is not None and not (isinstance(indent, int) and 0 <= indent <= 16):
        raise ValueError("tojson indent must be an integer from 0 to 16")

    def fallback(obj: Any) -> Any:
        if isinstance(obj, Undefined):
            return None
        if isinstance(obj, tl.GuardedRange | set | frozenset | Iterator):
            return list(tl.guard_iter(obj))
        raise TypeError(f"a {type(obj).__name__} cannot be written as JSON")

    return jsonutil.dumps(value, indent=indent, fallback=fallback)


def _fromjson(value: str) -> Any:
    return json.loads(str(value), parse_float=Decimal)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise TypeError(f"decimal: cannot convert a {type(value).__name__}")
    return Decimal(repr(value) if isinstance(value, float) else str(value).strip())


def _datetime(value: Any) -> dt.datetime:
    """ISO-8601 text to an aware datetime; naive values are taken as UTC."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value.strip())
    else:
        raise TypeError(f"datetime: cannot convert a {type(value).__name__}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _isoformat(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date | dt.time) else _datetime(value).isoformat()


def _strftime(value: Any, fmt: str) -> str:
    tl.check_size(len(fmt) * 16, "a strftime result")
    return (value if isinstance(value, dt.date) else _datetime(value)).strftime(fmt)


def _no_lookup(*args: Any, **kwargs: Any) -> Any:
    """Stands in for `lookup()` where no database is at hand (a run's context brings the real one)."""
    raise RecipeError("lookup: lookup tables can only be read while a recipe runs")


_FILTERS: dict[str, Callable[..., Any]] = {
    "tojson": _tojson,
    "fromjson": _fromjson,
    "decimal": _decimal,
    "datetime": _datetime,
    "isoformat": _isoformat,
    "strftime": _strftime,
}


@functools.cache
def environment() -> HubSandbox:
    """The one environment every recipe template compiles in (created on first use)."""
    env = HubSandbox()
    for name in ("lipsum", "cycler", "joiner"):
        env.globals.pop(name, None)
    env.globals.update(range=tl.template_range, now=_now, lookup=_no_lookup, **tf.FUNCTIONS)
    for name in ("pprint", "urlize"):  # HTML/debug helpers with no use in payloads
        env.filters.pop(name, None)
    env.filters.update(tl.BOUNDED_FILTERS)
    env.filters.update(_FILTERS)
    env.filters.update(tf.FILTERS)
    env.filters = {name: tl.post_checked(func) for name, func in env.filters.items()}
    return env


# -- compiling and rendering -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Compiled:
    template: Template
    expression: Template | None  # `result = expression`, when the source is exactly one `{{ expression }}`


def _lone_expression(tree: nodes.Template) -> nodes.Expr | None:
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    parts = [n for n in tree.body[0].nodes if not (isinstance(n, nodes.TemplateData) and not n.data.strip())]
    if len(parts) == 1 and not isinstance(parts[0], nodes.TemplateData):
        return parts[0]
    return None


@functools.lru_cache(maxsize=2048)
def _compile(source: str) -> _Compiled:
    env = environment()
    template = env.from_string(env.parse(source))
    expr = _lone_expression(env.parse(source))  # a fresh tree: from_string rewrote the first one
    if expr is None:
        return _Compiled(template, None)
    body = [nodes.Assign(nodes.Name("result", "store"), expr, lineno=expr.lineno)]
    return _Compiled(template, env.from_string(nodes.Template(body, lineno=1)))


def _scope(context: Mapping[str, Any]) -> dict[str, Any]:
    """The names a template sees: the environment's globals (functions), then the context's.

    Jinja copies both into a new dict at every render (`Template.new_context`): ~30 globals for each
    of the dozens of strings in a step's input. Made once per value rendered, it is then shared by
    each string's context (`shared=True`); templates only read it (an assignment goes to the
    context's own variables)."""
    return {**environment().globals, **context}


def _evaluate(expression: Template, scope: dict[str, Any]) -> Any:
    """A lone expression's value, as jinja's TemplateExpression gives it (undefined becomes None)."""
    context = expression.new_context(scope, shared=True)
    for _ in expression.root_render_func(context):
        pass
    result = context.vars["result"]
    return None if isinstance(result, Undefined) else result


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TemplateSyntaxError):
        text = f"syntax error at line {exc.lineno}: {exc.message}"
    elif isinstance(exc, LimitExceeded):
        text = str(exc)
    elif isinstance(exc, SecurityError):
        text = f"not allowed: {exc}"
    elif isinstance(exc, UndefinedError):
        text = f"undefined value: {exc.message}"
    elif isinstance(exc, RecursionError):
        text = "recursion too deep"
    elif isinstance(exc, RecipeError):  # a filter or function's own message names it and the problem
        text = exc.message
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:300]


def _error(exc: BaseException, path: str) -> TemplateError:
    return TemplateError(f"{path}: {_describe(exc)}", path=path)


def _to_native(value: Any, limits: Limits, depth: int = 0) -> Any:
    """Make an expression's result JSON-like: no Undefined, generators or ranges leak out."""
    if depth > limits.max_depth:
        raise LimitExceeded(f"the result is nested deeper than {limits.max_depth} levels")
    if value is None or isinstance(value, Undefined):
        return None
    if isinstance(value, bool | int | float | Decimal | dt.date | dt.time):
        return value
    if isinstance(value, str):
        return str(value)  # a Markup becomes a plain str
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str | int | float | bool | Decimal) and key is not None:
                raise TypeError(f"a {type(key).__name__} cannot be a key of the result")
            result[key] = _to_native(item, limits, depth + 1)
        return result
    if isinstance(value, Iterable) and not isinstance(value, bytes | bytearray):
        return [_to_native(item, limits, depth + 1) for item in tl.guard_iter(value)]
    raise TypeError(f"a {type(value).__name__} is not a JSON-like value")


def _check_text(text: str, limits: Limits, size: int = 0) -> int:
    size += len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_output_bytes:
        raise LimitExceeded(f"output exceeds {limits.max_output_bytes} bytes")
    return size


def _text(template: Template, scope: dict[str, Any], limits: Limits) -> str:
    """Render chunk by chunk, stopping as soon as the output passes the cap (Template.generate, on
    the shared scope)."""
    parts: list[str] = []
    size = 0
    try:
        for chunk in template.root_render_func(template.new_context(scope, shared=True)):
            size = _check_text(chunk, limits, size)
            parts.append(chunk)
    except Exception:
        template.environment.handle_exception()  # re-raised with the template's own lines in its traceback
    return "".join(parts)


# Where a string sits in the value rendered, "$.a[2]" as ((("$", "a", False), 2, True)): (parent, key,
# whether the key is a list index), spelled out only for an error's message (most renders raise
# none, and a step's input has dozens of strings).
Path = str | tuple["Path", Any, bool]


def _spelled(path: Path) -> str:
    if isinstance(path, str):
        return path
    parent, key, index = path
    return f"{_spelled(parent)}[{key}]" if index else _child(_spelled(parent), key)


def _render_string(source: str, scope: dict[str, Any], path: Path, limits: Limits, native: bool) -> Any:
    if not is_template(source):
        return source
    try:
        compiled = _compile(source)
        if native and compiled.expression is not None:
            tl.measure(raw := _evaluate(compiled.expression, scope), "the result")
            value = _to_native(raw, limits)
            if isinstance(value, str):
                _check_text(value, limits)
            return value
        return _text(compiled.template, scope, limits)
    except Exception as exc:
        if is_transient(exc):  # the hub's database paused under lookup() or secrets: not the recipe's fault
            raise
        raise _error(exc, _spelled(path)) from exc


def _child(path: str, key: Any) -> str:
    if isinstance(key, str) and _IDENTIFIER.match(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False, default=str)}]"


def _render(value: Any, scope: dict[str, Any], path: Path, limits: Limits) -> Any:
    if isinstance(value, str):
        return _render_string(value, scope, path, limits, native=True)
    if isinstance(value, dict):
        return {key: _render(item, scope, (path, key, False), limits) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_render(item, scope, (path, index, True), limits) for index, item in enumerate(value)]
    return value


# -- public API --------------------------------------------------------------------------------------


def is_template(value: str) -> bool:
    """Whether a string holds Jinja syntax; plain strings are passed through without compiling."""
    return "{{" in value or "{%" in value or "{#" in value


def parse(source: str) -> nodes.Template:
    """The syntax tree of a template, for save-time checks of what it refers to (compile_check first)."""
    return environment().parse(source)


def lone_expression(source: str) -> nodes.Expr | None:
    """The expression of a source that is exactly one `{{ expression }}` (it keeps its type), else None."""
    return _lone_expression(parse(source))


def compile_check(source: str, path: str) -> None:
    """At save time: raise TemplateError naming `path` and the line when `source` does not compile."""
    try:
        _compile(source)
    except Exception as exc:
        raise _error(exc, path) from exc


def render_value(
    value: Any, context: Mapping[str, Any], path: str = "$", *, limits: Limits | None = None
) -> Any:
    """Render every string in a JSON-like value (dict keys excluded) under one deadline.

    A string that is exactly one `{{ expression }}` keeps the expression's native type (an undefined
    result becomes None), so numbers, lists and Decimal money reach connectors unchanged.
    """
    with tl.budget(limits) as active:
        return _render(value, _scope(context), path, active)


def render_text(
    source: str, context: Mapping[str, Any], path: str = "$", *, limits: Limits | None = None
) -> str:
    """Render a template to text, even when it is a single expression."""
    with tl.budget(limits) as active:
        return _render_string(source, _scope(context), path, active, native=False)


def evaluate_condition(
    source: str, context: Mapping[str, Any], path: str, *, limits: Limits | None = None
) -> bool:
    """Truth of a recipe `filter` or step `when`.

    One expression is evaluated natively; a text result (or a string expression result) is false when
    it reads "", "false", "0", "no", "none" or "null" (any case, stripped), so form values behave.
    """
    with tl.budget(limits) as active:
        value = (
            _render_string(source, _scope(context), path, active, native=True)
            if isinstance(source, str)
            else source
        )
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE_WORDS
    return bool(value)
