"""The template catalogue: the files of recipes/templates/, read once and checked as a whole.

Each file is checked against recipes/template.schema.json and then for what a schema cannot say:
the file is named after the template, parameter names are unique, every marker names a declared
parameter and every parameter is used, value parameters' schemas, examples and defaults agree, and
the recipe with each parameter's example in place is a valid recipe document. Every problem of
every file is reported at once, each naming its file and JSON path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema.exceptions import SchemaError, ValidationError, best_match

from hub.connections import NotFound
from hub.recipe_tree import iter_steps
from hub.recipes import SCHEMA_PATH, JsonSchemaValidator, json_path, schema_problems
from hub.sdk.errors import HubError
from hub.templates.params import MARKER, Parameter, markers, schema_problem, substitute, text_in

RECIPES_DIR = SCHEMA_PATH.parent  # found as recipes/recipe.schema.json is
TEMPLATES_DIR = RECIPES_DIR / "templates"
TEMPLATE_SCHEMA_PATH = RECIPES_DIR / "template.schema.json"


class TemplateError(HubError):
    """Template files that break the format: `problems` is [{"file", "path", "message"}, ...]."""

    code = "invalid_template"

    def __init__(self, problems: list[dict[str, str]]) -> None:
        lines = [f"{p['file']}: {p['path']}: {p['message']}" for p in problems]
        super().__init__("invalid recipe template(s):\n" + "\n".join(lines), details=problems)
        self.problems = problems


@lru_cache(maxsize=1)
def template_schema() -> dict[str, Any]:
    return json.loads(TEMPLATE_SCHEMA_PATH.read_text(encoding="utf-8"))


CATEGORIES: tuple[str, ...] = tuple(template_schema()["properties"]["category"]["enum"])
NAME_PATTERN: str = template_schema()["properties"]["name"]["pattern"]


@dataclass(frozen=True)
class Template:
    """One checked template; `document` is the file's JSON as written."""

    document: dict[str, Any]
    file: Path

    @property
    def name(self) -> str:
        return str(self.document["name"])

    @property
    def category(self) -> str:
        return str(self.document["category"])

    @property
    def systems(self) -> list[str]:
        return list(self.document["systems"])

    @property
    def parameters(self) -> list[Parameter]:
        return [Parameter.of(spec) for spec in self.document["parameters"]]

    @property
    def recipe(self) -> dict[str, Any]:
        return dict(self.document["recipe"])

    def title(self, lang: str = "en") -> str:
        return text_in(self.document["title"], lang)

    def summary(self) -> dict[str, Any]:
        """The template without its recipe: what lists show."""
        return {key: value for key, value in self.document.items() if key != "recipe"}

    def description(self, lang: str = "en") -> str:
        return text_in(self.document["description"], lang)

    def matches(
        self, *, category: str | None = None, system: str | None = None, q: str | None = None
    ) -> bool:
        """Whether the template is in `category`, uses `system` and has `q` in its name, titles or
        descriptions (any case, either language)."""
        if category and self.category != category:
            return False
        if system and system not in self.systems:
            return False
        if not q:
            return True
        texts = [self.name, *self.document["title"].values(), *self.document["description"].values()]
        return any(q.casefold() in text.casefold() for text in texts)


def _shown(path: Path) -> str:
    """The file as people know it: relative to the repository (recipes/templates/x.json)."""
    try:
        return str(path.relative_to(RECIPES_DIR.parent))
    except ValueError:
        return str(path)


def _format_problems(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, message) of every schema error, the best one per JSON path."""
    validator = JsonSchemaValidator(template_schema())
    by_path: dict[str, list[ValidationError]] = {}
    for error in validator.iter_errors(document):
        by_path.setdefault(json_path(error.absolute_path), []).append(error)
    return [(path, best_match(errors).message) for path, errors in by_path.items()]


def _value_problems(index: int, parameter: Parameter) -> list[tuple[str, str]]:
    """A value parameter's schema must be a JSON Schema, and its example and default match it."""
    base = f"$.parameters[{index}]"
    try:
        JsonSchemaValidator.check_schema(parameter.schema)
    except SchemaError as exc:
        return [(f"{base}.schema", f"not a valid JSON Schema: {exc.message}")]
    found = []
    for field in ("example", "default"):
        if field in parameter.spec:
            problem = schema_problem(parameter.schema, parameter.spec[field], f"{base}.{field}")
            if problem is not None:
                found.append((problem.path, f"does not match the parameter's schema: {problem.message}"))
    return found


def _marker_problems(document: dict[str, Any], declared: set[str]) -> tuple[list[tuple[str, str]], set[str]]:
    """Problems of the recipe's markers, and the parameter names they use."""
    found, used = [], set()
    for path, marker in markers(document["recipe"], "$.recipe"):
        name = marker[MARKER]
        if len(marker) != 1 or not isinstance(name, str):
            found.append((path, 'a marker is an object with exactly one key, "$param", naming a parameter'))
        elif name not in declared:
            found.append((path, f"parameter '{name}' is not declared in $.parameters"))
        else:
            used.add(name)
    return found, used


def _connectors_used(recipe: dict[str, Any]) -> set[str]:
    used = {str((recipe.get("trigger") or {}).get("connector"))}
    return used | {str(step.get("connector")) for _phase, _path, step in iter_steps(recipe)}


def _recipe_problems(document: dict[str, Any], parameters: list[Parameter]) -> list[tuple[str, str]]:
    """The recipe with each parameter's example (a connection's: a placeholder name) in place must
    be a valid recipe document, and every listed system a connector it uses."""
    values = {p.name: f"{p.name}-connection" if p.kind == "connection" else p.example for p in parameters}
    recipe = substitute(document["recipe"], values)
    found = [
        (f"$.recipe{p.path[1:]}", p.message.removeprefix(f"{p.path}: ")) for p in schema_problems(recipe)
    ]
    if not found:
        used = _connectors_used(recipe)
        for index, system in enumerate(document["systems"]):
            if system not in used:
                found.append((f"$.systems[{index}]", f"the recipe uses no connector '{system}'"))
    return found


def check_document(document: Any, file_name: str) -> list[tuple[str, str]]:
    """(JSON path, message) of every problem of one template document; [] when it is valid."""
    if not isinstance(document, dict):
        return [("$", "a template must be a JSON object")]
    found = _format_problems(document)
    if found:
        return found
    if document["name"] != file_name:
        found.append(("$.name", f"must be the file's name without .json ('{file_name}')"))
    parameters = [Parameter.of(spec) for spec in document["parameters"]]
    seen: set[str] = set()
    for index, parameter in enumerate(parameters):
        if parameter.name in seen:
            found.append((f"$.parameters[{index}].name", f"parameter '{parameter.name}' is declared twice"))
        seen.add(parameter.name)
        if parameter.kind == "value":
            found += _value_problems(index, parameter)
        elif parameter.connector not in document["systems"]:
            found.append((f"$.parameters[{index}].connector", "must be one of the template's systems"))
    marker_found, used = _marker_problems(document, seen)
    found += marker_found
    for index, parameter in enumerate(parameters):
        if parameter.name not in used:
            found.append(
                (f"$.parameters[{index}]", f"parameter '{parameter.name}' is not used in the recipe")
            )
    if not found:
        found += _recipe_problems(document, parameters)
    return found


def read_template(path: Path) -> Template:
    """One template file, checked; TemplateError naming the file and each problem's path."""
    shown = _shown(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TemplateError([{"file": shown, "path": "$", "message": f"not readable JSON: {exc}"}]) from exc
    found = check_document(document, path.stem)
    if found:
        raise TemplateError([{"file": shown, "path": at, "message": message} for at, message in found])
    return Template(document=document, file=path)


def read_catalogue(directory: Path) -> dict[str, Template]:
    """Every template of `directory` by name; one TemplateError listing every file's problems."""
    templates: dict[str, Template] = {}
    problems: list[dict[str, str]] = []
    for path in sorted(directory.glob("*.json")):
        try:
            template = read_template(path)
        except TemplateError as exc:
            problems += exc.problems
            continue
        templates[template.name] = template
    if problems:
        raise TemplateError(problems)
    return templates


@lru_cache(maxsize=1)
def load() -> dict[str, Template]:
    """The hub's catalogue (recipes/templates/), read once per process."""
    return read_catalogue(TEMPLATES_DIR)


def get(name: str) -> Template:
    """The template named `name`; NotFound (404) when the catalogue has none."""
    found = load().get(name)
    if found is None:
        raise NotFound(f"template '{name}' not found")
    return found


def find(*, category: str | None = None, system: str | None = None, q: str | None = None) -> list[Template]:
    """The catalogue's templates matching the filters, by name."""
    return [t for t in load().values() if t.matches(category=category, system=system, q=q)]
