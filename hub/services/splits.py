"""A/B splits of a recipe's new runs between versions: show, set (checked) and end, with audit entries.

See hub.recipe_split for how a run's version is chosen and why a split's versions must share the
current version's trigger.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit import audit
from hub.db.models import Recipe, RecipeVersion, utcnow
from hub.recipe_index import mark_changed
from hub.recipe_secrets import open_document
from hub.recipe_split import SplitError, Weights, check_compatible
from hub.recipe_store import get_recipe
from hub.runtime import Runtime


def split_view(recipe: Recipe) -> dict[str, Any]:
    """The API's answer: the weights by version (null when there is no split) and the current version,
    which takes every new run when there is none."""
    return {
        "active": bool(recipe.split),
        "versions": dict(recipe.split) if recipe.split else None,
        "current_version": recipe.current_version,
    }


def get_split(rt: Runtime, recipe_id: int) -> dict[str, Any]:
    with rt.db.transaction() as session:
        return split_view(get_recipe(session, recipe_id))


def _check(session: Session, rt: Runtime, recipe: Recipe, weights: Weights) -> None:
    """Every version exists and receives events like the current one (SplitError naming it otherwise)."""
    rows = session.execute(
        select(RecipeVersion.version, RecipeVersion.document).where(
            RecipeVersion.recipe_id == recipe.id,
            RecipeVersion.version.in_([*weights, recipe.current_version]),
        )
    ).all()
    opened = {
        version: open_document(document, rt.vault, rt.registry, recipe.id, version)
        for version, document in rows
    }
    for version in sorted(weights):
        if version not in opened:
            path = f"$.versions.{version}"
            raise SplitError(
                f"{path}: recipe {recipe.id} has no version {version} "
                f"(its versions are 1 to {recipe.current_version})",
                path=path,
            )
    chosen = {version: opened[version] for version in weights}
    check_compatible(chosen, recipe.current_version, opened[recipe.current_version], rt.registry)


def set_split(rt: Runtime, recipe_id: int, weights: Weights, *, actor: str) -> dict[str, Any]:
    """Send new runs to `weights`' versions from now on (replacing any split)."""
    with rt.db.transaction() as session:
        recipe = get_recipe(session, recipe_id)
        _check(session, rt, recipe, weights)
        mark_changed(session)  # every process's recipe index: ingress reads the split from it
        recipe.split = {str(version): weight for version, weight in sorted(weights.items())}
        recipe.updated_at = utcnow()
        audit(session, actor, "recipe.split", "recipe", str(recipe_id), {"versions": recipe.split})
        return split_view(recipe)


def end_split(rt: Runtime, recipe_id: int, *, actor: str) -> dict[str, Any]:
    """Send every new run to the current version again (nothing to do, and no audit, without a split)."""
    with rt.db.transaction() as session:
        recipe = get_recipe(session, recipe_id)
        if recipe.split:
            mark_changed(session)
            audit(session, actor, "recipe.split_end", "recipe", str(recipe_id), {"versions": recipe.split})
            recipe.split, recipe.updated_at = None, utcnow()
        return split_view(recipe)
