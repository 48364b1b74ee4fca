"""Recipes calling recipes (`recipe.call`): naming the callee, and the cycles visible when saving.

A call names its recipe by id or by name. When that name is a literal (not a template) the call
graph is known at save: a recipe that would call itself, directly or through others, is refused
there. A templated callee is checked when the run calls it (see `hub.utilities.recipe`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import templating
from hub.db.models import Recipe, RecipeVersion
from hub.recipe_tree import iter_steps, step_type
from hub.sdk.errors import RecipeError

CALLER_CONNECTOR, CALL_ACTION, CALLED_TRIGGER = "recipe", "call", "called"
MAX_CALL_DEPTH = 5

# a literal reference (id or name) -> (recipe id, its current document), None when no such recipe
Resolve = Callable[[str], tuple[int, dict[str, Any]] | None]


def is_call(step: dict[str, Any]) -> bool:
    return (
        step_type(step) == "action"
        and step.get("connector") == CALLER_CONNECTOR
        and step.get("action") == CALL_ACTION
    )


def literal_calls(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(JSON path of `input.recipe`, the reference) of each call whose callee is written literally."""
    for _phase, path, step in iter_steps(document):
        if not is_call(step):
            continue
        ref = (step.get("input") or {}).get("recipe")
        if isinstance(ref, int) and not isinstance(ref, bool):
            yield f"{path}.input.recipe", str(ref)
        elif isinstance(ref, str) and ref and not templating.is_template(ref):
            yield f"{path}.input.recipe", ref


def find_recipe(session: Session, ref: Any) -> Recipe | None:
    """The live recipe a call names: by id when the reference is a whole number, else by name
    (the oldest recipe of that name, so the answer does not change when another takes the name)."""
    text = str(ref).strip()
    if text.isdigit():
        found = session.get(Recipe, int(text))
        return found if found is not None and found.deleted_at is None else None
    query = select(Recipe).where(Recipe.name == text, Recipe.deleted_at.is_(None)).order_by(Recipe.id)
    return session.scalars(query.limit(1)).first()


def resolver(session: Session) -> Resolve:
    """`Resolve` over the database: each callee's current document (stored form; only call steps'
    literal references are read from it, never a secret)."""

    def resolve(ref: str) -> tuple[int, dict[str, Any]] | None:
        recipe = find_recipe(session, ref)
        if recipe is None:
            return None
        query = select(RecipeVersion.document).where(
            RecipeVersion.recipe_id == recipe.id, RecipeVersion.version == recipe.current_version
        )
        document = session.scalar(query)
        return (recipe.id, document) if isinstance(document, dict) else None

    return resolve


class CallGraph:
    """The calls of a document being saved, followed through the saved recipes, to find a cycle."""

    def __init__(self, resolve: Resolve, self_id: int | None = None) -> None:
        self.resolve = resolve
        self.self_id = self_id

    def _is_self(self, ref: str, document: dict[str, Any]) -> bool:
        if self.self_id is not None and ref == str(self.self_id):
            return True
        found = self.resolve(ref)
        by_name = ref == document.get("name") and (found is None or found[0] == self.self_id)
        return by_name or (found is not None and self.self_id is not None and found[0] == self.self_id)

    def cycles(self, document: dict[str, Any]) -> list[RecipeError]:
        """A problem at each call that leads back to this recipe, naming the way round."""
        problems = []
        for path, ref in literal_calls(document):
            chain = self._back_to_self(ref, document, [])
            if chain is not None:
                way = " -> ".join(["this recipe", *(f"recipe {i}" for i in chain), "this recipe"])
                problems.append(RecipeError(f"{path}: a call cycle: {way}", path=path))
        return problems

    def _back_to_self(self, ref: str, document: dict[str, Any], chain: list[int]) -> list[int] | None:
        if self._is_self(ref, document):
            return chain
        if len(chain) >= MAX_CALL_DEPTH * 4:  # far beyond what could run; a bound on the search
            return None
        found = self.resolve(ref)
        if found is None or found[0] in chain:
            return None  # an unknown callee fails at run time; a loop not through us is its own
        callee_id, callee_doc = found
        for _path, next_ref in literal_calls(callee_doc):
            way = self._back_to_self(next_ref, document, [*chain, callee_id])
            if way is not None:
                return way
        return None
