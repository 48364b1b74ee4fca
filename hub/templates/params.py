"""A template's parameters: the values a person gives checked against them, and put in place of the
`{"$param": NAME}` markers of the template's recipe.

A marker is replaced by the value itself, typed: a number stays a number, a list a list. Values are
never spliced into template text, so a value cannot change what a Jinja expression does.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import best_match

from hub.recipes import JsonSchemaValidator, json_path
from hub.sdk.errors import RecipeError, RecipeProblems
from hub.services import InvalidInput

MARKER = "$param"


def text_in(text: dict[str, str] | None, lang: str) -> str:
    """The `lang` text of an {"en", "zh"} pair ("zh_CN" and "zh-Hans" read the Chinese one)."""
    if not text:
        return ""
    return text.get("zh" if lang.lower().startswith("zh") else "en") or text.get("en", "")


@dataclass(frozen=True)
class Parameter:
    """One declared parameter: `connection` (a connection of `connector`) or `value` (any JSON
    matching `schema`). Without a default it is required."""

    name: str
    kind: str
    spec: dict[str, Any]

    @classmethod
    def of(cls, spec: dict[str, Any]) -> Parameter:
        return cls(name=spec["name"], kind=spec["kind"], spec=spec)

    @property
    def connector(self) -> str | None:
        return self.spec.get("connector")

    @property
    def schema(self) -> dict[str, Any]:
        return self.spec.get("schema") or {}

    @property
    def has_default(self) -> bool:
        return "default" in self.spec

    @property
    def default(self) -> Any:
        return copy.deepcopy(self.spec.get("default"))

    @property
    def example(self) -> Any:
        return copy.deepcopy(self.spec.get("example", self.spec.get("default")))

    @property
    def required(self) -> bool:
        return not self.has_default

    def title(self, lang: str = "en") -> str:
        return text_in(self.spec.get("title"), lang)

    def description(self, lang: str = "en") -> str:
        return text_in(self.spec.get("description"), lang)


def markers(value: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    """(JSON path, object) of every object holding a "$param" key, well-formed or not."""
    if isinstance(value, dict):
        if MARKER in value:
            yield path, value
            return
        for key, item in value.items():
            yield from markers(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from markers(item, f"{path}[{index}]")


def substitute(value: Any, values: dict[str, Any]) -> Any:
    """A copy of `value` with every marker replaced by its parameter's value (a copy of it too)."""
    if isinstance(value, dict):
        if MARKER in value:
            return copy.deepcopy(values[value[MARKER]])
        return {key: substitute(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, values) for item in value]
    return value


def schema_problem(schema: dict[str, Any], value: Any, path: str) -> RecipeError | None:
    """The best error of `value` against a value parameter's schema, at `path`, or None."""
    errors = list(JsonSchemaValidator(schema).iter_errors(value))
    if not errors:
        return None
    error = best_match(errors)
    inner = json_path(error.absolute_path)[1:]
    return InvalidInput(f"{path}: {inner.lstrip('.') + ': ' if inner else ''}{error.message}", path=path)


# Checks one connection parameter's value; answers what the recipe names it by, raises RecipeError.
ConnectionCheck = Callable[[Parameter, Any, str], Any]


def check_values(parameters: list[Parameter], values: Any, connection: ConnectionCheck) -> dict[str, Any]:
    """Every parameter's value (given, else its default), checked; RecipeProblems naming each bad,
    missing or unknown one at `parameters.<name>` otherwise."""
    if not isinstance(values, dict):
        raise RecipeProblems([InvalidInput("values: must be an object of parameter values", path="values")])
    declared = {p.name: p for p in parameters}
    problems: list[RecipeError] = []
    names = ", ".join(declared) or "none"
    for name in values:
        if name not in declared:
            path = f"parameters.{name}"
            problems.append(
                InvalidInput(f"{path}: not a parameter of this template (parameters: {names})", path=path)
            )
    found: dict[str, Any] = {}
    for parameter in parameters:
        path = f"parameters.{parameter.name}"
        if parameter.name not in values:
            if parameter.has_default:
                found[parameter.name] = parameter.default
            else:
                problems.append(InvalidInput(f"{path}: required", path=path))
            continue
        value = values[parameter.name]
        try:
            if parameter.kind == "connection":
                found[parameter.name] = connection(parameter, value, path)
                continue
            problem = schema_problem(parameter.schema, value, path)
            if problem is not None:
                raise problem
        except RecipeError as exc:
            problems.append(exc)
            continue
        found[parameter.name] = copy.deepcopy(value)
    if problems:
        raise RecipeProblems(problems)
    return found
