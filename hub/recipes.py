"""The recipe document: schema validation, semantic checks against connectors, and JSON paths in errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from hub import jsonutil, templating
from hub.registry import Registry
from hub.sdk.connector import Connector, PollingTrigger, WebhookTrigger
from hub.sdk.errors import PermanentError, RecipeError

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


def step_type(step: dict[str, Any]) -> str:
    return step.get("type") or "action"


def iter_steps(document: dict[str, Any]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(phase, index, step) for main steps then on_failure steps."""
    for index, step in enumerate(document.get("steps") or []):
        yield "main", index, step
    for index, step in enumerate(document.get("on_failure") or []):
        yield "on_failure", index, step


def step_path(phase: str, index: int) -> str:
    return f"$.{'steps' if phase == 'main' else 'on_failure'}[{index}]"


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


def validate_document(document: Any, registry: Registry, lookup: ConnectionLookup) -> dict[str, Any]:
    """Validate a recipe document fully; return it with defaults filled. Raises RecipeError with a path."""
    if not isinstance(document, dict):
        raise RecipeError("$: a recipe must be a JSON object", path="$")
    errors = list(_validator().iter_errors(document))
    if errors:
        raise _schema_error(best_match(errors))
    doc = jsonutil.loads(jsonutil.dumps(document))
    doc.setdefault("enabled", True)
    doc.setdefault("on_failure", [])
    trigger_spec = doc["trigger"]
    trigger_spec.setdefault("config", {})
    connector = _connector(registry, trigger_spec["connector"], "$.trigger.connector")
    trigger = connector.trigger(trigger_spec["trigger"])
    if trigger is None:
        raise _unknown(connector, "trigger", trigger_spec["trigger"], "$.trigger.trigger")
    _check_connection(connector, trigger_spec.get("connection"), "$.trigger.connection", lookup)
    validate_against(trigger.config_schema, trigger_spec["config"], "$.trigger.config", allow_templates=False)
    try:
        trigger.check_config(trigger_spec["config"])
    except PermanentError as exc:
        raise RecipeError(f"$.trigger.config: {exc.message}", path="$.trigger.config") from exc
    if doc.get("filter"):
        templating.compile_check(doc["filter"], "$.filter")

    seen: dict[str, str] = {}
    for phase, index, step in iter_steps(doc):
        base = step_path(phase, index)
        if step["id"] in seen:
            raise RecipeError(f"{base}.id: duplicate step id '{step['id']}'", path=f"{base}.id")
        seen[step["id"]] = base
        if step.get("when"):
            templating.compile_check(step["when"], f"{base}.when")
        kind = step_type(step)
        if kind == "delay":
            _check_templates(step["seconds"], f"{base}.seconds")
            continue
        step_connector = _connector(registry, step["connector"], f"{base}.connector")
        _check_connection(step_connector, step.get("connection"), f"{base}.connection", lookup)
        if kind == "wait_for":
            _check_wait(step_connector, step, base)
            continue
        action = step_connector.action(step["action"])
        if action is None:
            raise _unknown(step_connector, "action", step["action"], f"{base}.action")
        step.setdefault("input", {})
        _check_templates(step["input"], f"{base}.input")
        validate_against(action.input_schema, step["input"], f"{base}.input", allow_templates=True)
    return doc


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
    for phase, _index, step in iter_steps(document):
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
