"""The shape of nested steps, as the engine needs it: a flow step's lists of inner steps, the run-time
bounds (500 steps in a recipe), and where a step path sits in document order (for replay)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hub.recipes import step_type

MAX_STEPS = 500
DEFAULT_LABEL = "default"
_DEFAULT_RANK = 1_000_000  # a branch's default comes after its cases


def inner_lists(step: dict[str, Any]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(label, JSON path suffix, steps) of each list of steps inside a flow step; a for_each has one,
    labelled `*` (its items take the place of the label)."""
    kind = step_type(step)
    if kind == "branch":
        lists = [
            (str(i), f".cases[{i}].steps", case.get("steps") or [])
            for i, case in enumerate(step.get("cases") or [])
        ]
        if "default" in step:
            lists.append((DEFAULT_LABEL, ".default", step.get("default") or []))
        return lists
    if kind == "parallel":
        return [
            (str(i), f".branches[{i}]", steps or []) for i, steps in enumerate(step.get("branches") or [])
        ]
    if kind == "for_each":
        return [("*", ".steps", step.get("steps") or [])]
    return []


def walk_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every step of `steps`, nested ones included, in document order."""
    for step in steps:
        yield step
        for _, _, inner in inner_lists(step):
            yield from walk_steps(inner)


def limits_exceeded(document: dict[str, Any]) -> dict[str, Any] | None:
    """The run's error when the recipe is over the step bound (checked at save time too)."""
    count = sum(1 for _ in walk_steps((document.get("steps") or []) + (document.get("on_failure") or [])))
    if count <= MAX_STEPS:
        return None
    return {"message": f"the recipe has {count} steps, more than {MAX_STEPS}", "code": "recipe_too_large"}


def position(document: dict[str, Any], phase: str, path: str) -> tuple[int, ...] | None:
    """Where a step path sits in document order, as a sortable key (an ancestor's key is a prefix of
    its descendants'); None when the path names no step of the document."""
    steps = document.get("steps" if phase == "main" else "on_failure") or []
    parts = path.split(".")
    key: list[int] = []
    for depth in range(0, len(parts), 2):
        ids = [s.get("id") for s in steps]
        if parts[depth] not in ids:
            return None
        index = ids.index(parts[depth])
        key.append(index)
        if depth + 1 >= len(parts):
            return tuple(key)
        label = parts[depth + 1]
        lists = {name: inner for name, _, inner in inner_lists(steps[index])}
        if "*" in lists and label.isdigit():
            steps = lists["*"]
        elif label in lists:
            steps = lists[label]
        else:
            return None
        key.append(_DEFAULT_RANK if label == DEFAULT_LABEL else int(label))
    return None
