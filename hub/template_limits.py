"""Limits that keep a hostile template from stalling or crashing a worker.

Time: one deadline per render call tree, checked cooperatively by every sandbox hook (calls,
attribute and item access, operators) and by every loop iteration. Memory: operations that can
build a huge value from a small template (repetition, powers, padding, replacement, joining,
formatting, concatenation, literals that repeat a reference) are refused *before* they run, by
estimating their result. Values are sized by `measure`, which counts a shared reference every
time it appears, because that is what `str()`, `==`, hashing and JSON would walk.
"""

from __future__ import annotations

import contextvars
import functools
import operator
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from string import Formatter
from typing import Any, Literal

from jinja2 import Environment, pass_environment, pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.filters import (
    do_batch,
    do_center,
    do_indent,
    do_int,
    do_replace,
    do_round,
    do_wordwrap,
    make_attrgetter,
    sync_do_join,
    sync_do_slice,
)
from jinja2.nodes import EvalContext
from jinja2.sandbox import SandboxedEscapeFormatter, SandboxedFormatter, safe_range
from jinja2.utils import Namespace


@dataclass(frozen=True)
class Limits:
    """Bounds for one render call tree; the defaults suit workers rendering many small recipe values."""

    max_output_bytes: int = 256 * 1024  # one rendered string, UTF-8
    max_seconds: float = 0.5  # one render_value / render_text / evaluate_condition call
    max_value_size: int = 1024 * 1024  # characters or items of any value a template builds
    max_int_bits: int = 8192  # integers built by operators, or converted from a Decimal
    max_depth: int = 64  # nesting of lists and dicts


DEFAULT_LIMITS = Limits()
WORDWRAP_MAX_INPUT = 64 * 1024  # textwrap is quadratic on long words: cap what it is given
MAX_ROUND_DIGITS = 1000  # round(5, -10**9) would compute 10**(10**9)


class LimitExceeded(SecurityError):
    """A template broke a limit. Not a TypeError/ValueError, so no filter's fallback swallows it."""


@dataclass
class _Budget:
    limits: Limits
    deadline: float


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("hub_template_budget", default=None)
_clock = time.monotonic  # a seam for tests


@contextmanager
def budget(limits: Limits | None = None) -> Iterator[Limits]:
    """Open one deadline for a whole call tree; nested calls share the outermost budget."""
    current = _BUDGET.get()
    if current is not None:
        yield current.limits
        return
    chosen = limits or DEFAULT_LIMITS
    token = _BUDGET.set(_Budget(chosen, _clock() + chosen.max_seconds))
    try:
        yield chosen
    finally:
        _BUDGET.reset(token)


def active_limits() -> Limits:
    current = _BUDGET.get()
    return current.limits if current is not None else DEFAULT_LIMITS


def checkpoint() -> None:
    """Raise once the current render has used up its time."""
    current = _BUDGET.get()
    if current is not None and _clock() > current.deadline:
        raise LimitExceeded(f"render time exceeds {current.limits.max_seconds} s")


def check_size(size: int, what: str) -> None:
    limit = active_limits().max_value_size
    if size > limit:
        raise LimitExceeded(f"{what} would be {size} characters or items long, over the limit of {limit}")


def check_int_bits(bits: int) -> None:
    limit = active_limits().max_int_bits
    if bits > limit:
        raise LimitExceeded(f"an integer would exceed {limit} bits")


def check_decimal_int(value: Decimal) -> None:
    """int() of Decimal('1e999999999') would build a billion-digit integer."""
    if value.is_finite():
        check_int_bits(max(value.adjusted(), 0) * 10 // 3)


def measure(value: Any, what: str = "a value") -> int:
    """Expanded size of a value (characters plus items, shared references counted each time)."""
    limits = active_limits()
    memo: dict[int, int] = {}
    visits = 0

    def walk(obj: Any, depth: int) -> int:
        nonlocal visits
        if isinstance(obj, str | bytes | bytearray):
            return len(obj)
        if isinstance(obj, int) and not isinstance(obj, bool):
            return obj.bit_length() // 3 + 1
        if isinstance(obj, Mapping | list | tuple | set | frozenset | Namespace):
            if id(obj) in memo:
                return memo[id(obj)]
            if depth > limits.max_depth:
                raise LimitExceeded(f"{what} is nested deeper than {limits.max_depth} levels")
            if isinstance(obj, Namespace):
                obj = obj._Namespace__attrs  # type: ignore[attr-defined]
            items = obj.items() if isinstance(obj, Mapping) else obj
            total = 1
            for item in items:
                visits += 1
                if visits % 1024 == 0:
                    checkpoint()
                total += walk(item, depth + 1) + 1
                if total > limits.max_value_size:
                    check_size(total, what)
            memo[id(obj)] = total
            return total
        return 8

    return walk(value, 0)


def text_len(value: Any, *, expanded: bool = False) -> int:
    """Upper estimate of len(str(value)); `expanded` when a format spec or %-conversion applies."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() * 3 // 10 + 2
    if isinstance(value, Decimal):
        grow = abs(value.adjusted()) if expanded and value.is_finite() else 0
        return len(str(value)) + grow
    if isinstance(value, float):
        return 330 if expanded else 32
    if isinstance(value, Mapping | list | tuple | set | frozenset | Namespace):
        return measure(value)
    return 64


def check_result(value: Any, what: str) -> Any:
    """Post-check a value a call or filter produced (cheap for strings)."""
    if isinstance(value, str | bytes | bytearray):
        check_size(len(value), what)
    elif isinstance(value, Mapping | list | tuple | set | frozenset | Namespace):
        measure(value, what)
    return value


def checked_container(value: Any) -> Any:
    """Every list, tuple and dict literal: `[a, a, a]` nested ten deep must not hide a billion items."""
    measure(value, "a literal")
    return value


# -- iteration ---------------------------------------------------------------------------------


def guard_iter(iterable: Any) -> Iterator[Any]:
    """Iterate while checking the deadline; wraps every `{% for %}` iterable."""
    for item in iterable:
        checkpoint()
        yield item


class GuardedRange(Sequence[int]):
    """`range()` for templates: capped by Jinja's MAX_RANGE, and its iteration checks the deadline."""

    __slots__ = ("_range",)

    def __init__(self, rng: range) -> None:
        self._range = rng

    def __len__(self) -> int:
        return len(self._range)

    def __getitem__(self, index: Any) -> Any:
        item = self._range[index]
        return GuardedRange(item) if isinstance(item, range) else item

    def __iter__(self) -> Iterator[int]:
        return guard_iter(self._range)

    def __reversed__(self) -> Iterator[int]:
        return guard_iter(reversed(self._range))

    def __contains__(self, value: object) -> bool:
        return value in self._range

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GuardedRange) and self._range == other._range

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._range)


def template_range(*args: int) -> GuardedRange:
    return GuardedRange(safe_range(*args))


# -- operators, methods and formatting ----------------------------------------------------------

_BINOPS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "**": operator.pow,
    "%": operator.mod,
}
_SEQUENCES = (str, bytes, list, tuple)
_PRINTF = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[-+ #0]*(?P<width>\*|\d+)?(?:\.(?P<prec>\*|\d+)?)?[hlL]?(?P<conv>[a-zA-Z%])"
)


def _seq_size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes) else measure(value)


def _number(digits: str | None, what: str) -> int:
    if digits == "*":
        raise LimitExceeded(f"'*' widths are not allowed in {what}")
    if not digits:
        return 0
    if len(digits) > 9:
        check_size(10**9, what)
    size = int(digits)
    check_size(size, what)
    return size


def check_printf(fmt: str | bytes, args: Any) -> None:
    """`fmt % args`: bound every width and precision, and the sum of what the fields can produce."""
    text = fmt.decode("latin-1") if isinstance(fmt, bytes) else fmt
    positional = list(args) if isinstance(args, tuple) else [args]
    total, index = len(text), 0
    for match in _PRINTF.finditer(text):
        if match["conv"] == "%":
            continue
        width = _number(match["width"], "%-formatting")
        precision = _number(match["prec"], "%-formatting")
        if match["key"] is not None and isinstance(args, Mapping):
            arg = args.get(match["key"])
        else:
            arg = positional[index] if index < len(positional) else None
            index += 1
        if isinstance(arg, Decimal) and match["conv"] in "diouxXc":
            check_decimal_int(arg)
        total += width + precision + text_len(arg, expanded=match["conv"] not in "sra")
        check_size(total, "a %-formatted string")


def binop(op: str, left: Any, right: Any) -> Any:
    """Every binary operator in a template; money stays Decimal when mixed with a float literal."""
    checkpoint()
    if isinstance(left, Decimal) and isinstance(right, float):
        right = Decimal(repr(right))
    elif isinstance(right, Decimal) and isinstance(left, float):
        left = Decimal(repr(left))
    if op == "*":
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, _SEQUENCES) and isinstance(count, int) and count > 0:
                check_size(_seq_size(seq) * count, "a repeated value")
    elif op == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            check_int_bits(right * (abs(left).bit_length() - 1))
    elif op == "+":
        if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            check_size(_seq_size(left) + _seq_size(right), "a concatenation")
    elif op == "%" and isinstance(left, str | bytes):
        check_printf(left, right)
    result = _BINOPS[op](left, right)
    if isinstance(result, int):
        check_int_bits(result.bit_length())
    elif isinstance(result, str | bytes):
        check_size(len(result), "a result")
    return result


def check_replace(text: str | bytes | bytearray, old: Any, new: Any, count: Any = -1) -> None:
    if not isinstance(old, str | bytes) or not isinstance(new, str | bytes):
        return
    hits = text.count(old) if old else len(text) + 1  # type: ignore[arg-type]
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    check_size(len(text) + hits * max(0, len(new) - len(old)), "a replacement")


def check_call(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Pre-check built-in methods whose result can dwarf their inputs; may return materialised args."""
    owner = getattr(func, "__self__", None)
    name = getattr(func, "__name__", "")
    if isinstance(owner, str | bytes | bytearray):
        if name in ("center", "ljust", "rjust", "zfill") and args and isinstance(args[0], int):
            check_size(args[0], f"str.{name}")
        elif name == "expandtabs":
            size = args[0] if args else kwargs.get("tabsize", 8)
            tabs = owner.count("\t" if isinstance(owner, str) else b"\t")  # type: ignore[arg-type]
            if isinstance(size, int):
                check_size(len(owner) + tabs * size, "str.expandtabs")
        elif name == "replace" and len(args) >= 2:
            check_replace(owner, args[0], args[1], args[2] if len(args) > 2 else kwargs.get("count", -1))
        elif name == "join" and args:
            items = list(guard_iter(args[0]))
            size = sum(text_len(item) for item in items) + len(owner) * max(len(items) - 1, 0)
            check_size(size, "str.join")
            return (items, *args[1:])
        elif name == "translate" and args and isinstance(args[0], Mapping):
            longest = max((len(v) for v in args[0].values() if isinstance(v, str | bytes)), default=1)
            check_size(len(owner) * longest, "str.translate")
    elif isinstance(owner, int) and name == "to_bytes":
        length = args[0] if args else kwargs.get("length", 1)
        if isinstance(length, int):
            check_size(length, "int.to_bytes")
    elif isinstance(owner, Decimal) and name in ("as_integer_ratio", "to_integral", "to_integral_value"):
        check_decimal_int(owner)
    return args


class _LimitedFormatting(Formatter):
    """str.format with every field's width bounded and a running total of the output."""

    _hub_total = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        checkpoint()
        widths = [_number(d, "a format spec") for d in re.findall(r"\d+", format_spec)]
        estimate = max(widths, default=0) + text_len(value, expanded=bool(format_spec))
        check_size(self._hub_total + estimate, "a formatted string")
        result = super().format_field(value, format_spec)
        self._hub_total += len(result)
        check_size(self._hub_total, "a formatted string")
        return result


class LimitedFormatter(_LimitedFormatting, SandboxedFormatter):
    pass


class LimitedEscapeFormatter(_LimitedFormatting, SandboxedEscapeFormatter):
    pass


# -- joining output -------------------------------------------------------------------------------


def bounded_concat(parts: Iterable[str]) -> str:
    """Environment.concat: macro bodies, `{% set %}` blocks and `{% filter %}` blocks join through here."""
    pieces = parts if isinstance(parts, list) else list(parts)
    check_size(sum(map(len, pieces)), "a block of template output")
    return "".join(pieces)


def concat_values(*values: Any) -> str:
    """The `~` operator: size every operand before anything is stringified."""
    check_size(sum(text_len(v) for v in values), "a concatenation")
    return "".join(map(str, values))


def finalize(value: Any) -> Any:
    """Applied to every `{{ }}` output before str(): refuse values whose text would be huge."""
    if not isinstance(value, str):
        check_result(value, "an output value")
    return value


# -- built-in filters that take a size, bounded -------------------------------------------------------


def _center(value: str, width: int = 80) -> str:
    check_size(width if isinstance(width, int) else 0, "the center filter")
    return do_center(value, width)


def _indent(s: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    step = len(width) if isinstance(width, str) else width
    check_size(len(str(s)) + (str(s).count("\n") + 1) * max(step, 0), "the indent filter")
    return do_indent(s, width, first, blank)


@pass_environment
def _wordwrap(env: Environment, s: str, width: int = 79, *args: Any, **kwargs: Any) -> str:
    text = str(s)
    wrapstring = kwargs.get("wrapstring", args[1] if len(args) > 1 else None) or "\n"
    if len(text) > WORDWRAP_MAX_INPUT:
        raise LimitExceeded(f"wordwrap takes at most {WORDWRAP_MAX_INPUT} characters")
    breaks = len(text) // max(width, 1) + text.count("\n") + 1
    check_size(len(text) + breaks * len(str(wrapstring)), "the wordwrap filter")
    return do_wordwrap(env, s, width, *args, **kwargs)


@pass_eval_context
def _replace(eval_ctx: EvalContext, s: str, old: str, new: str, count: int | None = None) -> str:
    check_replace(str(s), str(old), str(new), -1 if count is None else count)
    return do_replace(eval_ctx, s, old, new, count)


@pass_eval_context
def _join(eval_ctx: EvalContext, value: Any, d: str = "", attribute: Any = None) -> str:
    items = list(guard_iter(value))
    if attribute is not None:
        items = list(map(make_attrgetter(eval_ctx.environment, attribute), items))
    check_size(sum(map(text_len, items)) + len(str(d)) * max(len(items) - 1, 0), "the join filter")
    return sync_do_join(eval_ctx, items, d)


def _format(value: str, *args: Any, **kwargs: Any) -> str:
    return binop("%", str(value), kwargs or args)


def _batch(value: Any, linecount: int, fill_with: Any = None) -> list[list[Any]]:
    check_size(linecount if isinstance(linecount, int) else 0, "the batch filter")
    return check_result(list(do_batch(guard_iter(value), linecount, fill_with)), "the batch filter")


def _slice(value: Any, slices: int, fill_with: Any = None) -> list[list[Any]]:
    check_size(slices if isinstance(slices, int) else 0, "the slice filter")
    return check_result(list(sync_do_slice(list(guard_iter(value)), slices, fill_with)), "the slice filter")


@pass_environment
def _sum(env: Environment, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    """Python-level sum, so adding lists is size-checked and interruptible rather than quadratic in C."""
    get = make_attrgetter(env, attribute) if attribute is not None else (lambda item: item)
    total = start
    for item in guard_iter(iterable):
        total = binop("+", total, get(item))
    return total


def _int(value: Any, default: int = 0, base: int = 10) -> int:
    if isinstance(value, Decimal):
        check_decimal_int(value)
    return do_int(value, default, base)


def _round(value: float, precision: int = 0, method: Literal["common", "ceil", "floor"] = "common") -> float:
    if isinstance(precision, int) and abs(precision) > MAX_ROUND_DIGITS:
        raise LimitExceeded(f"round precision is limited to {MAX_ROUND_DIGITS} digits")
    return do_round(value, precision, method)


def post_checked(func: Callable[..., Any]) -> Callable[..., Any]:
    """Every filter: deadline before, size of a text result after; keeps Jinja's pass_* marker."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        checkpoint()
        result = func(*args, **kwargs)
        if isinstance(result, str | bytes):
            check_size(len(result), "a filter result")
        return result

    return wrapper


BOUNDED_FILTERS: dict[str, Callable[..., Any]] = {
    "center": _center,
    "indent": _indent,
    "wordwrap": _wordwrap,
    "replace": _replace,
    "join": _join,
    "format": _format,
    "batch": _batch,
    "slice": _slice,
    "sum": _sum,
    "int": _int,
    "round": _round,
}
