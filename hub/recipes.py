"""The recipe document: schema validation, semantic checks against connectors, and JSON paths in errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from hub import jsonutil, templating
from hub.recipe_flow import flow_problems
from hub.recipe_tree import inner_lists, iter_steps, step_type
from hub.recipe_tree import step_path as step_path  # read from here by the engine's walker
from hub.registry import Registry
from hub.sdk.connector import Connector, PollingTrigger, WebhookTrigger
from hub.sdk.errors import PermanentError, RecipeError, RecipeProblems
from hub.template_functions import zone

if TYPE_CHECKING:
    from hub.recipe_calls import CallGraph

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "recipes" / "recipe.schema.json"

# name -> connector id of that connection, or None when no such connection exists
ConnectionLookup = Callable[[str], str | None]


@lru_cache(maxsize=1)
def recipe_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _is_integer(checker: Any, instance: Any) -> bool:
    return is_whole_number(instance)


def is_whole_number(instance: Any) -> bool:
    """JSON Schema's integer: any number with no fraction. Bodies are read with decimals as Decimal
    (jsonutil.loads), so 8.0 arrives as Decimal('8.0'), which jsonschema's own check refuses."""
    if isinstance(instance, bool):
        return False
    if isinstance(instance, int):
        return True
    if isinstance(instance, float):
        return instance.is_integer()
    return isinstance(instance, Decimal) and instance.is_finite() and instance == int(instance)


# Draft 2020-12 with that integer rule: every schema the hub checks input against uses it.
JsonSchemaValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return JsonSchemaValidator(recipe_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def json_path(parts: Any) -> str:
    """['steps', 0, 'input'] -> '$.steps[0].input'."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


class SchemaViolation(RecipeError):
    """A value breaks one JSON Schema keyword. The message is jsonschema's English; `keyword` and
    `expected` (the keyword's value in the schema) let the web UI say the same in its language."""

    def __init__(self, message: str, *, path: str, keyword: str, expected: Any) -> None:
        super().__init__(message, path=path)
        self.keyword, self.expected = keyword, expected


def _schema_error(error: ValidationError, base: str = "$") -> RecipeError:
    path = base + json_path(error.absolute_path)[1:]
    message, keyword = f"{path}: {error.message}", str(error.validator)
    return SchemaViolation(message, path=path, keyword=keyword, expected=error.validator_value)


def _check_templates(value: Any, path: str) -> None:
    if isinstance(value, str):
        if templating.is_template(value):
            templating.compile_check(value, path)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_templates(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_templates(item, f"{path}[{index}]")


def _template_paths(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, str) and templating.is_template(value):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _template_paths(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _template_paths(item, f"{path}[{index}]")


def _refuse_templates(config: Any, path: str, trigger: str) -> None:
    """A webhook wait's config is fixed: its hook URL is shared by every run waiting on the step, and
    the config was given to the vendor when the recipe was enabled, so it cannot differ per run."""
    for found in _template_paths(config, path):
        raise RecipeError(
            f"{found}: a wait_for step on the webhook trigger {trigger} cannot use templates in its "
            "config (one hook URL and one vendor registration serve every run); put per-run values "
            "in `match` instead",
            path=found,
        )


def _touches_template(instance: Any, error: ValidationError) -> bool:
    """An input error caused by a templated value cannot be judged until the value is rendered."""
    if isinstance(error.instance, str) and templating.is_template(error.instance):
        return True
    node = instance
    for part in error.absolute_path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
        if isinstance(node, str) and templating.is_template(node):
            return True
    return False


_validators: dict[int, tuple[dict[str, Any], jsonschema.Draft202012Validator]] = {}


def _connector_validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """One validator per schema object: connector schemas live as long as the process and every
    action input is checked against one, so building a validator per step is wasted work."""
    found = _validators.get(id(schema))
    if found is None or found[0] is not schema:  # an id can be reused once its object is gone
        if len(_validators) > 1000:
            _validators.clear()
        validator = JsonSchemaValidator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        found = _validators[id(schema)] = (schema, validator)
    return found[1]


def validate_against(schema: dict[str, Any], value: Any, path: str, *, allow_templates: bool) -> None:
    """Check `value` against a connector's JSON Schema; templated values are judged after rendering."""
    validator = _connector_validator(schema)
    errors = [
        e for e in validator.iter_errors(value) if not (allow_templates and _touches_template(value, e))
    ]
    if errors:
        raise _schema_error(best_match(errors), base=path)


def _connector(registry: Registry, connector_id: str, path: str) -> Connector:
    connector = registry.get(connector_id)
    if connector is None:
        known = ", ".join(c.id for c in registry.all())
        raise RecipeError(f"{path}: unknown connector '{connector_id}' (known: {known})", path=path)
    return connector


def _check_connection(connector: Connector, name: str | None, path: str, lookup: ConnectionLookup) -> None:
    if not name:
        if connector.needs_connection():
            raise RecipeError(f"{path}: connector '{connector.id}' needs a connection", path=path)
        return
    found = lookup(name)
    if found is None:
        raise RecipeError(f"{path}: unknown connection '{name}'", path=path)
    if found != connector.id:
        raise RecipeError(
            f"{path}: connection '{name}' belongs to connector '{found}', not '{connector.id}'", path=path
        )


def _unknown(connector: Connector, what: str, key: str, path: str) -> RecipeError:
    """A trigger or action the connector does not have, naming those it does."""
    known = connector.trigger_map if what == "trigger" else connector.action_map
    keys = ", ".join(known) or "none"
    return RecipeError(
        f"{path}: connector '{connector.id}' has no {what} '{key}' ({what}s: {keys})", path=path
    )


WAKING_TRIGGERS = (WebhookTrigger, PollingTrigger)  # a schedule tick carries nothing a wait could match


def _check_wait(connector: Connector, step: dict[str, Any], base: str) -> None:
    """A wait_for step's trigger must be one that can wake a wait, with a config it accepts: checked at
    save like an action's input, not first when a run parks (or when the vendor registration fails)."""
    waited = connector.trigger(step["trigger"])
    if waited is None:
        raise _unknown(connector, "trigger", step["trigger"], f"{base}.trigger")
    if not isinstance(waited, WAKING_TRIGGERS):
        raise RecipeError(
            f"{base}.trigger: {connector.id}.{waited.key} is a {waited.kind} trigger; a wait_for step "
            "needs a webhook or polling trigger",
            path=f"{base}.trigger",
        )
    _check_templates(step.get("match") or {}, f"{base}.match")
    config = step.get("config") or {}
    path = f"{base}.config"
    if isinstance(waited, WebhookTrigger):
        _refuse_templates(config, path, f"{connector.id}.{waited.key}")
    else:
        _check_templates(config, path)
    templated = next(_template_paths(config, path), None) is not None
    validate_against(waited.config_schema, config, path, allow_templates=templated)
    if templated:  # a polling wait's config is rendered per run and checked again when the run parks
        return
    try:
        waited.check_config(config)
    except PermanentError as exc:
        raise RecipeError(f"{path}: {exc.message}", path=path) from exc


def _check_timezone(name: str) -> None:
    """The recipe's `timezone` must be an IANA zone the templates can read naive dates in."""
    try:
        zone("timezone", name)
    except RecipeError as exc:
        raise RecipeError(f"$.{exc.message}", path="$.timezone") from None


def schema_problems(document: dict[str, Any]) -> list[RecipeError]:
    """Every schema error, the best one per JSON path, the best of all first."""
    errors = list(_validator().iter_errors(document))
    if not errors:
        return []
    by_path: dict[str, list[ValidationError]] = {}
    for error in errors:
        by_path.setdefault(json_path(error.absolute_path), []).append(error)
    best = _schema_error(best_match(errors))
    others = [_schema_error(best_match(group)) for group in by_path.values()]
    return [best, *(e for e in others if e.path != best.path)]


def _under(path: str, problems: list[RecipeError], skip: tuple[str, ...] = ()) -> bool:
    """Whether a problem sits at `path` or inside it (but not inside one of `skip`)."""

    def inside(found: str, at: str) -> bool:
        return found == at or found.startswith((f"{at}.", f"{at}["))

    return any(inside(p.path, path) and not any(inside(p.path, s) for s in skip) for p in problems)


class _Collector:
    """Problems gathered while checking a document; `check` runs one check and keeps its error."""

    def __init__(self, problems: list[RecipeError]) -> None:
        self.problems = problems

    def check(self, func: Callable[..., Any], *args: Any) -> bool:
        try:
            func(*args)
        except RecipeError as exc:
            self.problems.append(exc)
            return False
        return True


def validate_document(
    document: Any,
    registry: Registry,
    lookup: ConnectionLookup,
    *,
    calls: CallGraph | None = None,
) -> dict[str, Any]:
    """Validate a recipe document fully; return it with defaults filled. Raises RecipeProblems naming
    every problem found (schema, connectors, flow, call cycles), each with its JSON path."""
    if not isinstance(document, dict):
        raise RecipeProblems([RecipeError("$: a recipe must be a JSON object", path="$")])
    schema = schema_problems(document)
    doc = jsonutil.loads(jsonutil.dumps(document))
    collect = _Collector([])
    trigger_spec = doc.get("trigger")
    if isinstance(trigger_spec, dict) and not _under("$.trigger", schema) and "trigger" in trigger_spec:
        trigger_spec.setdefault("config", {})
        collect.check(_check_trigger, trigger_spec, registry, lookup)
    if isinstance(doc.get("filter"), str) and doc["filter"]:
        collect.check(templating.compile_check, doc["filter"], "$.filter")
    if isinstance(doc.get("timezone"), str) and not _under("$.timezone", schema):
        collect.check(_check_timezone, doc["timezone"])
    for _phase, path, step in iter_steps(doc):
        skip = tuple(inner for _label, inner, _steps in inner_lists(step, path))
        if not _under(path, schema, skip):
            _check_step(step, path, registry, lookup, collect)
    problems = schema + collect.problems + flow_problems(doc)
    if calls is not None and not schema:
        problems += calls.cycles(doc)
    if problems:
        raise RecipeProblems(_unique(problems))
    doc.setdefault("enabled", True)
    doc.setdefault("on_failure", [])
    return doc


def _unique(problems: list[RecipeError]) -> list[RecipeError]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for problem in problems:
        if (problem.path, problem.message) not in seen:
            seen.add((problem.path, problem.message))
            kept.append(problem)
    return kept


def _check_trigger(spec: dict[str, Any], registry: Registry, lookup: ConnectionLookup) -> None:
    connector = _connector(registry, spec["connector"], "$.trigger.connector")
    trigger = connector.trigger(spec["trigger"])
    if trigger is None:
        raise _unknown(connector, "trigger", spec["trigger"], "$.trigger.trigger")
    _check_connection(connector, spec.get("connection"), "$.trigger.connection", lookup)
    validate_against(trigger.config_schema, spec["config"], "$.trigger.config", allow_templates=False)
    try:
        trigger.check_config(spec["config"])
    except PermanentError as exc:
        raise RecipeError(f"$.trigger.config: {exc.message}", path="$.trigger.config") from exc


def _check_step(
    step: dict[str, Any], base: str, registry: Registry, lookup: ConnectionLookup, collect: _Collector
) -> None:
    """One step's own checks: its templates compile, its connector, connection, action or trigger."""
    if step.get("when"):
        collect.check(templating.compile_check, step["when"], f"{base}.when")
    kind = step_type(step)
    if kind == "delay":
        collect.check(_check_templates, step["seconds"], f"{base}.seconds")
    elif kind in ("action", "wait_for"):
        collect.check(_check_connector_step, step, base, registry, lookup)


def _check_connector_step(
    step: dict[str, Any], base: str, registry: Registry, lookup: ConnectionLookup
) -> None:
    step_connector = _connector(registry, step["connector"], f"{base}.connector")
    _check_connection(step_connector, step.get("connection"), f"{base}.connection", lookup)
    if step_type(step) == "wait_for":
        _check_wait(step_connector, step, base)
        return
    action = step_connector.action(step["action"])
    if action is None:
        raise _unknown(step_connector, "action", step["action"], f"{base}.action")
    step.setdefault("input", {})
    _check_templates(step["input"], f"{base}.input")
    validate_against(action.input_schema, step["input"], f"{base}.input", allow_templates=True)


REDACTED = "[REDACTED]"


def _secret_names(schema: dict[str, Any] | None) -> set[str]:
    props = (schema or {}).get("properties") or {}
    return {
        n
        for n, spec in props.items()
        if isinstance(spec, dict) and (spec.get("x-secret") or spec.get("writeOnly"))
    }


def secret_slots(document: dict[str, Any], registry: Registry) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(location, object, field) for every secret field set in a document's trigger config and steps."""
    spec = document.get("trigger") or {}
    connector = registry.get(spec.get("connector", ""))
    trigger = connector.trigger(spec.get("trigger", "")) if connector else None
    if trigger is not None:
        config = spec.get("config") or {}
        for name in _secret_names(trigger.config_schema) & set(config):
            yield "trigger", config, name
    for phase, _path, step in iter_steps(document):
        connector = registry.get(step.get("connector", ""))
        if connector is None:
            continue
        if step_type(step) == "action" and (action := connector.action(step.get("action", ""))):
            values, schema = step.get("input") or {}, action.input_schema
        elif step_type(step) == "wait_for" and (found := connector.trigger(step.get("trigger", ""))):
            values, schema = step.get("config") or {}, found.config_schema
        else:
            continue
        for name in _secret_names(schema) & set(values):
            yield f"{phase}:{step.get('id')}", values, name


def without_secrets(document: dict[str, Any], registry: Registry) -> dict[str, Any]:
    """A copy fit for export and API answers: literal secret fields show as [REDACTED]."""
    copy = jsonutil.loads(jsonutil.dumps(document))
    for _where, holder, name in secret_slots(copy, registry):
        if holder[name] and not templating.is_template(str(holder[name])):
            holder[name] = REDACTED
    return copy


def keep_secrets(new: dict[str, Any], old: dict[str, Any] | None, registry: Registry) -> dict[str, Any]:
    """A [REDACTED] secret in a re-saved document keeps the previous version's value at that place."""
    if old is None:
        return new
    old_values = {(where, name): holder[name] for where, holder, name in secret_slots(old, registry)}
    doc = jsonutil.loads(jsonutil.dumps(new))
    for where, holder, name in secret_slots(doc, registry):
        if holder[name] == REDACTED and (where, name) in old_values:
            holder[name] = old_values[(where, name)]
    return doc
