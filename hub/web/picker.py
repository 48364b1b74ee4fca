"""The data picker: which `{{ ... }}` expressions a templated field can use at its place in a recipe.

`event.*` comes from the recipe's latest real event (else the trigger's sample event); `steps.<id>.*`
from each earlier action step's sample output and output schema.
"""

from __future__ import annotations

import re
from typing import Any

from hub import jsonutil

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_ENTRIES = 80
MAX_DEPTH = 5


def _segment(key: Any) -> str:
    if isinstance(key, int):
        return f"[{key}]"
    text = str(key)
    return f".{text}" if IDENT.match(text) else "[" + jsonutil.dumps(text) + "]"


def _example(value: Any) -> str:
    text = value if isinstance(value, str) else jsonutil.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def flatten(value: Any, base: str, out: list[dict[str, str]], depth: int = 0) -> None:
    """(expression, example) for every leaf and object under `value`, at most MAX_ENTRIES in all."""
    if len(out) >= MAX_ENTRIES or depth > MAX_DEPTH:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            path = base + _segment(key)
            if isinstance(item, dict | list) and item:
                out.append({"expr": path, "example": _example(item)})
                flatten(item, path, out, depth + 1)
            else:
                out.append({"expr": path, "example": _example(item)})
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        flatten(value[0], base + "[0]", out, depth + 1)


def schema_paths(schema: dict[str, Any] | None, base: str, out: list[dict[str, str]], depth: int = 0) -> None:
    """Paths the output schema names that the sample did not show."""
    known = {entry["expr"] for entry in out}
    for key, spec in ((schema or {}).get("properties") or {}).items():
        path = base + _segment(key)
        if path not in known and len(out) < MAX_ENTRIES:
            out.append({"expr": path, "example": str((spec or {}).get("type") or "")})
        if isinstance(spec, dict) and depth < MAX_DEPTH:
            schema_paths(spec, path, out, depth + 1)


def event_entries(event: Any) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    flatten(event if isinstance(event, dict) else {}, "event", out)
    return out


def step_entries(step_id: str, sample: Any, schema: dict[str, Any] | None) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    base = "steps" + _segment(step_id)
    flatten(sample if isinstance(sample, dict) else {}, base, out)
    schema_paths(schema, base, out)
    return out


def context_entries() -> list[dict[str, str]]:
    """What every template sees besides the event: the run and the recipe."""
    return [
        {"expr": "run.id", "example": "123"},
        {"expr": "run.started_at", "example": "2026-01-01T08:00:00+00:00"},
        {"expr": "recipe.id", "example": "1"},
        {"expr": "recipe.name", "example": ""},
        {"expr": "recipe.version", "example": "1"},
    ]


def error_entries() -> list[dict[str, str]]:
    """What on_failure steps see of the failure that started them."""
    return [
        {"expr": "error.message", "example": "HTTP 500 from the vendor"},
        {"expr": "error.code", "example": "http_error"},
        {"expr": "error.step", "example": "step_1"},
    ]


def loop_entries(name: str, first_item: Any) -> list[dict[str, str]]:
    """What the steps inside a for_each see: the item under its `as` name and the loop counters."""
    out: list[dict[str, str]] = [{"expr": name, "example": _example(first_item) if first_item else ""}]
    if isinstance(first_item, dict):
        flatten(first_item, name, out)
    out += [{"expr": "loop.index", "example": "0"}, {"expr": "loop.length", "example": "3"}]
    return out
