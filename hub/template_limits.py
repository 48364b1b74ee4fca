"""Limits that keep a hostile template from stalling or crashing a worker.

Time is bounded cooperatively: every call, attribute or item access, binary operator and loop
iteration checks one deadline per render. Memory is bounded by refusing, before they run, the
operations that can build a huge value from a small template (repetition, powers, padding,
replacement, joining, concatenation), and by capping the rendered output.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from hub.sdk.errors import TemplateError


@dataclass(frozen=True)
class Limits:
    max_output_chars: int = 256 * 1024
    max_value_len: int = 1024 * 1024  # any string or list built inside a template
    max_seconds: float = 0.5
    max_power_bits: int = 4096


LIMITS = Limits()
_state = threading.local()
_WIDTH = re.compile(r"%[-+ #0]*(\d+)?(?:\.(\d+))?|\{[^{}]*?:[^{}]*?(\d+)(?:\.(\d+))?[^{}]*\}")


class Deadline:
    """The render budget of the current thread; nested renders share the outermost one."""

    def __enter__(self) -> Deadline:
        self.outer = getattr(_state, "deadline", None)
        if self.outer is None:
            _state.deadline = time.monotonic() + LIMITS.max_seconds
        return self

    def __exit__(self, *exc: object) -> None:
        if self.outer is None:
            _state.deadline = None


def check_time() -> None:
    deadline = getattr(_state, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise TemplateError(f"template took longer than {LIMITS.max_seconds} s")


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


def check_size(size: int, what: str) -> None:
    if size > LIMITS.max_value_len:
        raise TemplateError(f"{what} would be {size} long, over the limit of {LIMITS.max_value_len}")


def check_format_widths(pattern: str) -> None:
    for match in _WIDTH.finditer(pattern):
        for digits in match.groups():
            if digits and int(digits) > 10_000:
                raise TemplateError(f"format width {digits} is too large")


def check_binop(operator: str, left: Any, right: Any) -> None:
    check_time()
    if operator == "*":
        for seq, count in ((left, right), (right, left)):
            length = _size(seq)
            if length is not None and isinstance(count, int) and not isinstance(count, bool):
                check_size(length * max(count, 0), "a repeated value")
    elif operator == "**":
        if isinstance(right, int | float) and not isinstance(right, bool) and isinstance(left, int | float):
            base = abs(left)
            if base > 1 and right > 0 and right * math.log2(base) > LIMITS.max_power_bits:
                raise TemplateError(f"power result would exceed {LIMITS.max_power_bits} bits")
    elif operator == "+":
        left_len, right_len = _size(left), _size(right)
        if left_len is not None and right_len is not None:
            check_size(left_len + right_len, "a concatenation")
    elif operator == "%" and isinstance(left, str):
        check_format_widths(left)


def check_method_call(method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Pre-check str methods that can allocate far more than their inputs."""
    owner = getattr(method, "__self__", None)
    name = getattr(method, "__name__", "")
    if not isinstance(owner, str):
        return
    numbers = [a for a in (*args, *kwargs.values()) if isinstance(a, int) and not isinstance(a, bool)]
    if name in ("ljust", "rjust", "center", "zfill", "expandtabs") and numbers:
        check_size(max(numbers) * (len(owner) if name == "expandtabs" else 1), f"str.{name}")
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        count = owner.count(args[0]) if args[0] else len(owner) + 1
        check_size(len(owner) + count * max(0, len(args[1]) - len(args[0])), "str.replace")
    elif name == "join" and args:
        items = args[0]
        if isinstance(items, list | tuple):
            check_size(sum(len(str(i)) for i in items) + len(owner) * len(items), "str.join")
    elif name in ("format", "format_map"):
        check_format_widths(owner)


def checked_join(parts: Iterable[Any]) -> str:
    """The `~` operator with a size check."""
    text = "".join(str(p) for p in parts)
    check_size(len(text), "a concatenation")
    return text


def timed_iter(iterable: Any) -> Iterator[Any]:
    """Loop iteration that keeps checking the deadline."""
    for count, item in enumerate(iterable):
        if count % 64 == 0:
            check_time()
        yield item
