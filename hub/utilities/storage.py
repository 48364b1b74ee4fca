"""The `storage` utility: a JSON key-value store in the hub's database, for state between runs.

Keys live in a scope: `recipe` (the default, this recipe's own keys) or `global` (shared by every
recipe). Every write is atomic (see hub/utilities/store.py) and applied once per attempt
(hub/utilities/once.py), so every action is repeat-safe: a repeated `increment` never counts twice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from hub.sdk.connector import Action, Connector
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.utilities import store
from hub.utilities.common import database, step_errors
from hub.utilities.once import apply_once
from hub.utilities.values import (
    KEY_PATTERN,
    MAX_KEY,
    MAX_TTL_S,
    MIN_TTL_S,
    SCOPES,
    canonical,
    check_key,
    number,
    recipe_scope,
)

MAX_LIST_LENGTH = 10_000

KEY = {"type": "string", "minLength": 1, "maxLength": MAX_KEY, "pattern": KEY_PATTERN, "title": "Key"}
SCOPE = {
    "enum": list(SCOPES),
    "default": "recipe",
    "title": "Scope",
    "description": "recipe: this recipe's own keys; global: shared by every recipe",
}
ANY = {"description": "any JSON value, at most 64 KiB as JSON"}


def _schema(required: list[str], **properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": {"key": KEY, **properties, "scope": SCOPE},
    }


def _output(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": list(properties), "properties": properties}


def resolve_scope(ctx: Context, inputs: dict[str, Any]) -> str:
    scope = inputs.get("scope") or "recipe"
    if scope == "global":
        return "global"
    if scope != "recipe":
        raise PermanentError(f"input.scope: must be one of {', '.join(SCOPES)}")
    if ctx.recipe_id is None:
        raise PermanentError("input.scope: 'recipe' needs a recipe's run; use 'global' outside one")
    return recipe_scope(ctx.recipe_id)


class StorageAction(Action):
    """Checks the key and scope, then `apply`; writes go through the once-per-attempt record."""

    repeat_safe = True
    writes: ClassVar[bool] = True

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        db = database(ctx)
        scope = resolve_scope(ctx, inputs)
        with step_errors(store.WrongType):
            key = check_key(inputs.get("key"), "key")
            values = self.prepare(inputs)
            if not self.writes:
                with db.read() as session:
                    return self.apply(session, scope, key, values)
            target = f"storage.{self.key}\n{scope}\n{key}"
            output = apply_once(
                db, ctx.idempotency_key, target, lambda session: self.apply(session, scope, key, values)
            )
        store.maybe_purge(db)
        return output

    def prepare(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """The checked inputs `apply` uses (before any database work)."""
        return inputs

    def apply(self, session: Session, scope: str, key: str, values: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


class Get(StorageAction):
    key = "get"
    title = "Get a value"
    description = "Read a key; `default` (null unless given) when it is absent or expired."
    input_schema = _schema(["key"], default={**ANY, "default": None})
    output_schema = _output(value=ANY, found={"type": "boolean"})
    sample_output = {"value": "qualified", "found": True}
    writes = False

    def apply(self, session: Session, scope: str, key: str, values: dict[str, Any]) -> dict[str, Any]:
        entry = store.get(session, scope, key)
        if entry is None:
            return {"value": values.get("default"), "found": False}
        return {"value": entry.value, "found": True}


class Set(StorageAction):
    key = "set"
    title = "Set a value"
    description = "Store a JSON value under a key, replacing what was there; optionally expiring."
    input_schema = _schema(
        ["key", "value"],
        value=ANY,
        ttl_s={
            "type": ["number", "null"],
            "minimum": MIN_TTL_S,
            "maximum": MAX_TTL_S,
            "title": "Expire after (seconds)",
            "description": "absent or null: never expires",
        },
    )
    output_schema = _output(value=ANY)
    sample_output = {"value": "qualified"}

    def prepare(self, inputs: dict[str, Any]) -> dict[str, Any]:
        ttl = inputs.get("ttl_s")
        return {"value": canonical(inputs.get("value")), "ttl_s": float(ttl) if ttl is not None else None}

    def apply(self, session: Session, scope: str, key: str, values: dict[str, Any]) -> dict[str, Any]:
        return {"value": store.put(session, scope, key, values["value"], values["ttl_s"]).value}


class Delete(StorageAction):
    key = "delete"
    title = "Delete a key"
    description = "Remove a key; `deleted` says whether it held a value."
    input_schema = _schema(["key"])
    output_schema = _output(deleted={"type": "boolean"})
    sample_output = {"deleted": True}

    def apply(self, session: Session, scope: str, key: str, values: dict[str, Any]) -> dict[str, Any]:
        return {"deleted": store.remove(session, scope, key)}


class Increment(StorageAction):
    key = "increment"
    title = "Add to a number"
    description = (
        "Add `by` (default 1; negative subtracts) to the number under a key, atomically; an absent key "
        "counts from 0. A key holding anything but a number fails the step and is left unchanged."
    )
    input_schema = _schema(["key"], by={"type": "number", "default": 1, "title": "Add"})
    output_schema = _output(value={"type": "number"})
    sample_output = {"value": 1}

    def prepare(self, inputs: dict[str, Any]) -> dict[str, Any]:
        by = inputs.get("by", 1)
        canonical(by, "by")
        return {"by": number(by if isinstance(by, int | Decimal) else Decimal(repr(by)))}

    def apply(self, session: Session, scope: str, key: str, values: dict[str, Any]) -> dict[str, Any]:
        return {"value": store.increment(session, scope, key, values["by"])}


class CompareAndSet(StorageAction):
    key = "compare_and_set"
    title = "Set if unchanged"
    description = (
        "Store `value` only if the key holds `expected` (compared as JSON; null or absent: the key "
        "is absent or null). `previous` is what the key held."
    )
    input_schema = _schema(["key", "value"], expected={**ANY, "default": None}, value=ANY)
    output_schema = _output(swapped={"type": "boolean"}, previous=ANY)
    sample_output = {"swapped": True, "previous": "new"}

    def prepare(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            "expected": canonical(inputs.get("expected"), "expected"),
            "value": canonical(inputs["value"]),
        }

    def apply(self, session: Session, scope: str, key: str, values: dict[str, Any]) -> dict[str, Any]:
        swapped, previous = store.compare_and_set(session, scope, key, values["expected"], values["value"])
        return {"swapped": swapped, "previous": previous}


class Append(StorageAction):
    key = "append"
    title = "Append to a list"
    description = (
        "Add `value` at the end of the list under a key (an absent key starts one), keeping only the "
        "last `max_length` items. A key holding anything but a list fails the step, unchanged."
    )
    input_schema = _schema(
        ["key", "value"],
        value=ANY,
        max_length={"type": ["integer", "null"], "minimum": 1, "maximum": MAX_LIST_LENGTH},
    )
    output_schema = _output(length={"type": "integer"})
    sample_output = {"length": 1}

    def prepare(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"value": canonical(inputs.get("value")), "max_length": inputs.get("max_length")}

    def apply(self, session: Session, scope: str, key: str, values: dict[str, Any]) -> dict[str, Any]:
        return {"length": store.append(session, scope, key, values["value"], values["max_length"])}


class StorageConnector(Connector):
    id = "storage"
    name = "Storage"
    category = "utility"
    description = "Keep JSON values between runs: counters, last-seen states, lists; atomic and scoped."
    icon = "database"
    docs_url = "docs/utilities/storage.md"
    actions = (Get, Set, Delete, Increment, CompareAndSet, Append)


connector = StorageConnector()
