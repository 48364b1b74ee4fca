"""Nested steps as the engine needs them: the run-time bound (500 steps in a recipe) and where a step
path sits in document order (for replay). The document's tree itself is read by hub.recipe_tree."""

from __future__ import annotations

from typing import Any

from hub.recipe_tree import DEFAULT_LABEL, inner_lists, walk_steps

MAX_STEPS = 500
_DEFAULT_RANK = 1_000_000  # a branch's default comes after its cases


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
        lists = {label: inner or [] for label, _path, inner in inner_lists(steps[index], "")}
        if "*" in lists and label.isdigit():
            steps = lists["*"]
        elif label in lists:
            steps = lists[label]
        else:
            return None
        key.append(_DEFAULT_RANK if label == DEFAULT_LABEL else int(label))
    return None
