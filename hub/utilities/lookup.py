"""The `lookup` utility: find a row of a lookup table (territory -> owner, product -> price list).

Action `find` matches on any columns; the template function `lookup(table, key, column=None)`
reads by the table's key. Both go through the hub's database (the action via `ctx.hub`, the
function through the run's render context), never a global.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.connections import NotFound
from hub.db.models import Recipe
from hub.sdk.connector import Action, Connector
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError, RecipeError
from hub.utilities import tables


class Find(Action):
    key = "find"
    title = "Find a row in a lookup table"
    description = (
        "The first row (in table order) whose columns equal every value of `where` (compared as text); "
        "`default` when none does."
    )
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["table", "where"],
        "additionalProperties": False,
        "properties": {
            "table": {"type": "string", "minLength": 1, "maxLength": 100, "title": "Table"},
            "where": {
                "type": "object",
                "title": "Where",
                "description": 'Column: value pairs that must all match, e.g. {"province": "浙江"}.',
                "minProperties": 1,
                "additionalProperties": {"type": ["string", "number", "boolean"]},
            },
            "default": {
                "title": "Default",
                "description": "The `row` when nothing matches (null if absent).",
            },
        },
    }
    output_schema = {
        "type": "object",
        "properties": {"row": {}, "found": {"type": "boolean"}},
    }
    sample_output = {"row": {"province": "浙江", "owner": "wang.fang@example.com"}, "found": True}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        if ctx.hub is None:
            raise PermanentError("lookup.find reads the hub's database; it runs only inside the hub")
        try:
            with ctx.hub.db.read() as session:
                project_id = recipe_project(session, ctx.recipe_id)
                row = tables.find(session, inputs["table"], inputs["where"], project_id)
        except (NotFound, RecipeError) as exc:
            raise PermanentError(f"lookup.find: {exc.message}") from None
        if row is None:
            return {"row": inputs.get("default"), "found": False}
        return {"row": row, "found": True}


class Lookup(Connector):
    id = "lookup"
    name = "Lookup tables"
    category = "utility"
    description = "Rows kept in the hub (territories, price lists, code mappings), found by any column."
    actions = (Find,)


connector = Lookup()


def recipe_project(session: Session, recipe_id: int | None) -> int | None:
    """The project whose tables a recipe reads (None outside a recipe: every table)."""
    if recipe_id is None:
        return None
    return session.scalar(select(Recipe.project_id).where(Recipe.id == recipe_id))


def template_function(db: Any, project_id: int | None = None) -> Callable[..., Any]:
    """`lookup(table, key, column=None)` for one run's templates: the row whose key column equals
    `key`, or that row's `column`; None when there is no such row. Only tables of `project_id` (the
    recipe's project) are found. Rows read are kept for the run."""
    columns: dict[str, list[str]] = {}
    seen: dict[tuple[str, str], dict[str, Any] | None] = {}

    def lookup(table: Any, key: Any, column: Any = None) -> Any:
        if not isinstance(table, str) or not table:
            raise RecipeError(
                "lookup: the first argument names a table, e.g. lookup('territories', event.province)"
            )
        text = tables.cell_text(key)
        if table not in columns or (text is not None and (table, text) not in seen):
            try:
                with db.read() as session:
                    columns[table] = tables.get(session, table, project_id).columns
                    if text is not None:
                        seen[(table, text)] = tables.by_key(session, table, text, project_id)
            except NotFound:
                raise RecipeError(f"lookup: no table named '{table}' in this project") from None
        if column is not None and column not in columns[table]:
            raise RecipeError(f"lookup: {column!r} is not a column of table '{table}'")
        row = seen.get((table, text)) if text is not None else None
        if row is None or column is None:
            return row
        return row.get(column)

    return lookup
