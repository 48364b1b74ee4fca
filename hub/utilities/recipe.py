"""The `recipe` connector: recipes that call recipes.

Trigger `called` starts a recipe only when another recipe calls it (it has no webhook URL, no poll
and no schedule); its optional `input_schema` is the JSON Schema the caller's event must meet.
Action `call` starts a run of a recipe (by id or name) on an event; with `wait` (the default) the
calling step waits for that run and its output is the callee's rendered top-level `output`.

A call needs the hub's database (the child run, its parent link, waking the caller), so the engine
runs it as a step kind of its own (`hub.engine.run.kinds.call`); this module declares the trigger
and the action so recipes are validated, documented and shown in the editor like any connector's.
"""

from __future__ import annotations

from typing import Any, ClassVar

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from hub.sdk.connector import Action, CalledTrigger, Connector
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError


class Called(CalledTrigger):
    key = "called"
    title = "Called by another recipe"
    description = "Starts only when a recipe's `recipe.call` step calls this recipe; no webhook URL."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "input_schema": {
                "type": "object",
                "title": "Input schema",
                "description": "JSON Schema the caller's event must meet (checked before the run starts).",
            }
        },
    }
    sample: ClassVar[dict[str, Any]] = {"amount": 1000, "currency": "CNY"}

    def check_config(self, config: dict[str, Any]) -> None:
        schema = config.get("input_schema")
        if schema is None:
            return
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            raise PermanentError(f"input_schema is not a valid JSON Schema: {exc.message}") from exc


class Call(Action):
    key = "call"
    title = "Call a recipe"
    description = (
        "Start a run of another recipe (its trigger must be recipe.called) on an event; with `wait`, "
        "this step waits for that run and gives its output."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["recipe"],
        "additionalProperties": False,
        "properties": {
            "recipe": {
                "type": ["string", "integer"],
                "title": "Recipe",
                "description": "The id or the name of the recipe to call.",
            },
            "event": {"type": "object", "title": "Event", "default": {}},
            "wait": {"type": "boolean", "title": "Wait for its output", "default": True},
        },
    }
    output_schema: ClassVar[dict[str, Any] | None] = {
        "description": "With `wait`: the called recipe's rendered `output`; without: {run_id}."
    }
    sample_output: ClassVar[dict[str, Any]] = {"run_id": 1}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        raise PermanentError("recipe.call runs only as a recipe step (the engine starts the called run)")


class RecipeConnector(Connector):
    id = "recipe"
    name = "Recipe"
    category = "utility"
    description = "Call a recipe from another, and return a value to the caller (sub-recipes)."
    icon = "recipe"
    docs_url = "docs/recipes.md#sub-recipes-recipecall-and-recipecalled"
    triggers = (Called,)
    actions = (Call,)


connector = RecipeConnector()
