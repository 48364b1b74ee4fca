"""A recipe document as a tree of steps: the lists flow steps carry, and every step with its JSON path.

Whatever reads a document's steps (validation, secrets sealing, webhook endpoints, subscriptions,
connection renames) walks them here, so a step nested in a branch, parallel or for_each is seen
like a top-level one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def step_type(step: dict[str, Any]) -> str:
    return step.get("type") or "action"


def iter_steps(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(phase, JSON path, step) for every step in document order: the main steps then on_failure,
    each followed by the steps nested in it (branch cases and default, parallel branches, for_each
    steps), so whatever reads a document's steps sees the inner ones too."""
    for phase, key in (("main", "steps"), ("on_failure", "on_failure")):
        yield from _walk_list(phase, document.get(key), f"$.{key}")


def _walk_list(phase: str, steps: Any, path: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    if not isinstance(steps, list):
        return
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        at = f"{path}[{index}]"
        yield phase, at, step
        for _label, inner_path, inner in inner_lists(step, at):
            yield from _walk_list(phase, inner, inner_path)


DEFAULT_LABEL = "default"  # the label of a branch's default list in a step path (`route.default.x`)


def inner_lists(step: dict[str, Any], path: str) -> Iterator[tuple[str, str, Any]]:
    """(label, JSON path, list of steps) of each list of steps a flow step carries. The label is what a
    step path names the list by: a case or branch index, `default`, or `*` for a for_each (whose item
    index takes its place)."""
    kind = step_type(step)
    if kind == "branch":
        cases = step.get("cases")
        for index, case in enumerate(cases if isinstance(cases, list) else []):
            if isinstance(case, dict):
                yield str(index), f"{path}.cases[{index}].steps", case.get("steps")
        if "default" in step:
            yield DEFAULT_LABEL, f"{path}.default", step["default"]
    elif kind == "parallel":
        branches = step.get("branches")
        for index, branch in enumerate(branches if isinstance(branches, list) else []):
            yield str(index), f"{path}.branches[{index}]", branch
    elif kind == "for_each":
        yield "*", f"{path}.steps", step.get("steps")


def walk_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every step of `steps`, nested ones included, in document order."""
    for _phase, _path, step in _walk_list("main", steps, "$"):
        yield step


def find_step(document: dict[str, Any], step_id: str) -> dict[str, Any] | None:
    """The step with that id, wherever it is nested."""
    return next((step for _phase, _path, step in iter_steps(document) if step.get("id") == step_id), None)


def step_path(phase: str, index: int) -> str:
    """The JSON path of a top-level step (nested ones get theirs from `iter_steps`)."""
    return f"$.{'steps' if phase == 'main' else 'on_failure'}[{index}]"
