"""Save-time checks of a recipe's flow: step ids, nesting, size, and what each template may refer to.

They read the document as a tree (`recipes.iter_steps` / `inner_lists`) and report every problem
with its JSON path, so a recipe that would fail half-way through a run is refused when it is saved.
A template may name `steps.<id>` only for a step that can have run before it on every path that
reaches it: an earlier step of its own list or of an enclosing one, and anything nested in those
(a branch's, parallel's or for_each's inner outputs stay addressable after it). A later step, the
step itself, a step of a sibling branch or case, or the enclosing step is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jinja2 import nodes

from hub import templating
from hub.recipe_tree import inner_lists, iter_steps, step_type
from hub.sdk.errors import RecipeError

MAX_DEPTH = 4  # steps nested in at most 4 flow steps
MAX_STEPS = 500  # in a whole recipe, nested ones, on_failure ones and every branch included


def flow_problems(document: dict[str, Any]) -> list[RecipeError]:
    """Every flow problem of a (schema-checked or not) document, in document order."""
    problems: list[RecipeError] = []
    places = _ids(document, problems)
    _size(document, problems)
    main_ids = {i for i, (phase, _path) in places.items() if phase == "main"}
    _scope(document.get("steps"), "$.steps", set(), places, problems)
    _scope(document.get("on_failure"), "$.on_failure", set(main_ids), places, problems)
    if "output" in document:
        _refs_in(document["output"], "$.output", main_ids, places, problems)
    if isinstance(document.get("filter"), str):
        _refs_in(document["filter"], "$.filter", set(), places, problems)
    for _phase, path, step in iter_steps(document):
        if step_type(step) == "for_each":
            _check_items(step.get("items"), f"{path}.items", problems)
    return problems


def _ids(document: dict[str, Any], problems: list[RecipeError]) -> dict[str, tuple[str, str]]:
    """Each step id's (phase, path); a repeated id, at any depth, is a problem at its second place."""
    places: dict[str, tuple[str, str]] = {}
    for phase, path, step in iter_steps(document):
        step_id = step.get("id")
        if not isinstance(step_id, str):
            continue
        if step_id in places:
            first = places[step_id][1]
            problems.append(
                RecipeError(f"{path}.id: duplicate step id '{step_id}' (first at {first})", path=f"{path}.id")
            )
            continue
        places[step_id] = (phase, path)
    return places


def _depth(path: str) -> int:
    """How many flow steps enclose the step at `path` ($.steps[0] -> 0, $.steps[0].steps[1] -> 1)."""
    return path.count("]") - 1 - path.count(".cases[") - path.count(".branches[")


def _size(document: dict[str, Any], problems: list[RecipeError]) -> None:
    count = 0
    for _phase, path, _step in iter_steps(document):
        count += 1
        if _depth(path) > MAX_DEPTH:
            problems.append(
                RecipeError(
                    f"{path}: nested {_depth(path)} levels deep; steps nest at most {MAX_DEPTH} levels",
                    path=path,
                )
            )
    if count > MAX_STEPS:
        problems.append(
            RecipeError(
                f"$.steps: {count} steps in all (nested and on_failure ones included); at most {MAX_STEPS}",
                path="$.steps",
            )
        )


def _subtree_ids(step: dict[str, Any], path: str) -> Iterator[str]:
    for _label, inner_path, inner in inner_lists(step, path):
        for index, child in enumerate(inner if isinstance(inner, list) else []):
            if isinstance(child, dict):
                if isinstance(child.get("id"), str):
                    yield child["id"]
                yield from _subtree_ids(child, f"{inner_path}[{index}]")


def _scope(
    steps: Any,
    path: str,
    visible: set[str],
    places: dict[str, tuple[str, str]],
    problems: list[RecipeError],
) -> None:
    """Check each step of a list against the ids that can have run before it, then its inner lists."""
    seen = set(visible)
    for index, step in enumerate(steps if isinstance(steps, list) else []):
        if not isinstance(step, dict):
            continue
        at = f"{path}[{index}]"
        _refs_in(own_values(step), at, seen, places, problems)
        for _label, inner_path, inner in inner_lists(step, at):
            _scope(inner, inner_path, seen, places, problems)
        if isinstance(step.get("id"), str):
            seen.add(step["id"])
        seen.update(_subtree_ids(step, at))


def own_values(step: dict[str, Any]) -> dict[str, Any]:
    """The step without the steps nested in it (a branch keeps its cases' `when`s): what is rendered
    at the step's own place in the run."""
    kind = step_type(step)
    own = dict(step)
    if kind == "branch":
        own.pop("default", None)
        cases = step.get("cases")
        if isinstance(cases, list):
            own["cases"] = [
                {k: v for k, v in case.items() if k != "steps"} if isinstance(case, dict) else case
                for case in cases
            ]
    elif kind == "parallel":
        own.pop("branches", None)
    elif kind == "for_each":
        own.pop("steps", None)
    return own


def _templates(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str) and templating.is_template(value):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _templates(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _templates(item, f"{path}[{index}]")


def _refs_in(
    value: Any,
    path: str,
    visible: set[str],
    places: dict[str, tuple[str, str]],
    problems: list[RecipeError],
) -> None:
    for where, source in _templates(value, path):
        try:
            templating.compile_check(source, where)
        except RecipeError as exc:
            problems.append(exc)
            continue
        for name in sorted(step_references(source)):
            if name in visible:
                continue
            if name not in places:
                why = f"no step has the id '{name}'"
            else:
                why = (
                    f"step '{name}' (at {places[name][1]}) cannot have run before this point "
                    "(it comes later, is this step or encloses it, or sits in another branch)"
                )
            problems.append(RecipeError(f"{where}: steps.{name}: {why}", path=where))


def step_references(source: str) -> set[str]:
    """The ids named as `steps.<id>` or `steps['<id>']` in a template."""
    found: set[str] = set()
    tree = templating.parse(source)
    for attr in tree.find_all(nodes.Getattr):
        if isinstance(attr.node, nodes.Name) and attr.node.name == "steps":
            found.add(attr.attr)
    for item in tree.find_all(nodes.Getitem):
        named = isinstance(item.node, nodes.Name) and item.node.name == "steps"
        if named and isinstance(item.arg, nodes.Const) and isinstance(item.arg.value, str):
            found.add(item.arg.value)
    return found


def _check_items(items: Any, path: str, problems: list[RecipeError]) -> None:
    """A for_each's `items` must be exactly one `{{ expression }}` that can give a list."""
    if not isinstance(items, str):
        return  # the schema names it
    hint = "a template giving a list, e.g. '{{ event.lines }}'"
    if not templating.is_template(items):
        problems.append(RecipeError(f"{path}: '{items}' is a plain string; items must be {hint}", path=path))
        return
    try:
        expression = templating.lone_expression(items)
    except Exception:
        return
    if expression is None:
        problems.append(
            RecipeError(f"{path}: text around the expression makes a string; items must be {hint}", path=path)
        )
    elif isinstance(expression, nodes.Dict) or (
        isinstance(expression, nodes.Const) and not isinstance(expression.value, list | tuple)
    ):
        problems.append(RecipeError(f"{path}: the expression is not a list; items must be {hint}", path=path))
