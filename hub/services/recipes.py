"""Recipe operations: save (create or new version), restore a version, enable/disable, delete, test,
bulk replay, reset."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select

from hub import recipe_store
from hub.access import DEFAULT_PROJECT_ID
from hub.audit import audit
from hub.connections import NotFound
from hub.db.models import Recipe, TriggerState
from hub.engine import control
from hub.engine.runner import Runner
from hub.engine.subscriptions import sync_subscription
from hub.recipe_secrets import open_document
from hub.runtime import Runtime


@dataclass(frozen=True)
class SavedRecipe:
    """What callers show after a change: the recipe, its webhook URLs and any registration warning."""

    id: int
    name: str
    version: int
    enabled: bool
    urls: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def answer(self) -> dict[str, Any]:
        """The API's answer for a saved recipe (warnings only when there are some)."""
        found: dict[str, Any] = {
            "id": self.id,
            "version": self.version,
            "name": self.name,
            "enabled": self.enabled,
            **self.urls,
        }
        return {**found, "warnings": self.warnings} if self.warnings else found


def _saved(rt: Runtime, session: Any, recipe: Recipe) -> SavedRecipe:
    return SavedRecipe(
        id=recipe.id,
        name=recipe.name,
        version=recipe.current_version,
        enabled=recipe.enabled,
        urls=recipe_store.hook_urls(session, rt, recipe),
    )


def _with_subscription(rt: Runtime, saved: SavedRecipe) -> SavedRecipe:
    """Register or remove the vendor-side webhook after the change is stored; a refusal is a
    warning to show, the change stands."""
    problem = sync_subscription(rt, saved.id)
    return replace(saved, warnings=[problem]) if problem else saved


def save_recipe(
    rt: Runtime,
    document: Any,
    *,
    actor: str,
    recipe_id: int | None = None,
    keep_enabled: bool = False,
    project_id: int = DEFAULT_PROJECT_ID,
) -> SavedRecipe:
    """Validate and store `document` as a new recipe of `project_id`, or as the next version of
    `recipe_id` (which ends its A/B split; `keep_enabled`: whether it is live stays as it was)."""
    with rt.db.transaction() as session:
        if recipe_id is None:
            recipe = recipe_store.save_recipe(session, rt, document, actor=actor, project_id=project_id)
            audit(session, actor, "recipe.create", "recipe", str(recipe.id), {"name": recipe.name})
        else:
            current = recipe_store.get_recipe(session, recipe_id)
            split = current.split
            recipe = recipe_store.save_recipe(
                session, rt, document, recipe=current, actor=actor, keep_enabled=keep_enabled
            )
            details: dict[str, Any] = {"version": recipe.current_version}
            if split:
                details["split_ended"] = split
            audit(session, actor, "recipe.update", "recipe", str(recipe.id), details)
        saved = _saved(rt, session, recipe)
    return _with_subscription(rt, saved)


def restore_version(rt: Runtime, recipe_id: int, version: int, *, actor: str) -> SavedRecipe:
    """Save version `version`'s document again as the newest version; whether the recipe is live
    stays as it is. Its secrets are opened where they were sealed (for that version) and sealed anew
    for the new one, so its trigger still verifies and its steps still sign with them."""
    with rt.db.transaction() as session:
        recipe = recipe_store.get_recipe(session, recipe_id)
        stored = recipe_store.version_document(session, recipe_id, version)
        document = open_document(stored, rt.vault, rt.registry, recipe_id, version)
        split = recipe.split
        recipe_store.save_recipe(session, rt, document, recipe=recipe, actor=actor, keep_enabled=True)
        details: dict[str, Any] = {"from_version": version, "version": recipe.current_version}
        if split:
            details["split_ended"] = split
        audit(session, actor, "recipe.restore", "recipe", str(recipe_id), details)
        saved = _saved(rt, session, recipe)
    return _with_subscription(rt, saved)


def set_enabled(rt: Runtime, recipe_id: int, enabled: bool, *, actor: str) -> SavedRecipe:
    with rt.db.transaction() as session:
        recipe = recipe_store.get_recipe(session, recipe_id)
        recipe_store.set_enabled(session, recipe, enabled)
        audit(session, actor, "recipe.enable" if enabled else "recipe.disable", "recipe", str(recipe_id))
        saved = _saved(rt, session, recipe)
    return _with_subscription(rt, saved)


def delete_recipe(rt: Runtime, recipe_id: int, *, actor: str) -> None:
    """Delete the recipe and remove its vendor-side webhooks (a refusal there does not undo it)."""
    with rt.db.transaction() as session:
        recipe_store.delete_recipe(session, recipe_store.get_recipe(session, recipe_id))
        audit(session, actor, "recipe.delete", "recipe", str(recipe_id))
    sync_subscription(rt, recipe_id)


def run_test(rt: Runtime, recipe_id: int, event: dict[str, Any], *, dry_run: bool, actor: str) -> int:
    """Run the current version on `event` now and wait for it; a dry run renders every step and performs
    none. Answers the run's id."""
    with rt.db.transaction() as session:
        recipe = recipe_store.get_recipe(session, recipe_id)
        run_id = control.start_test_run(session, recipe, event, dry_run=dry_run)
        audit(session, actor, "recipe.test", "recipe", str(recipe_id), {"dry_run": dry_run, "run": run_id})
    Runner(rt).execute(run_id)
    return run_id


def run_step_test(
    rt: Runtime, recipe_id: int, step_id: str, event: dict[str, Any], outputs: dict[str, Any], *, actor: str
) -> int:
    """Perform one saved step for real on a sample event, the earlier steps' sample outputs standing in
    for theirs, and wait for its first attempt (retries go on in the workers). Answers the run's id."""
    with rt.db.transaction() as session:
        recipe = recipe_store.get_recipe(session, recipe_id)
        run_id = control.start_step_test_run(session, recipe, event, step_id, outputs)
        audit(session, actor, "recipe.test_step", "recipe", str(recipe_id), {"step": step_id, "run": run_id})
    Runner(rt).execute(run_id)
    return run_id


def replay_failed(rt: Runtime, recipe_id: int, since: datetime | None, *, actor: str) -> list[int]:
    """Replay the recipe's failed runs (since `since`, if given); answers the new runs' ids."""
    with rt.db.transaction() as session:
        recipe_store.get_recipe(session, recipe_id)
        ids = [run.id for run in control.replay_failed(session, recipe_id, since)]
        audit(session, actor, "recipe.replay", "recipe", str(recipe_id), {"runs": ids})
    rt.dispatch(ids)
    return ids


def reset_trigger(
    rt: Runtime, recipe_id: int, cursor: str | None, backfill_from: datetime | None, *, actor: str
) -> None:
    """Set (or clear) the poll cursor and the backfill start; seen items are kept, so nothing repeats.

    The trigger becomes unprimed: its next poll starts from `cursor` and takes what it finds as
    already seen ("from now"), unless `backfill_from` is given, in which case those items start runs.
    """
    with rt.db.transaction() as session:
        recipe_store.get_recipe(session, recipe_id)
        state = session.scalar(select(TriggerState).where(TriggerState.recipe_id == recipe_id))
        if state is None:
            raise NotFound(f"recipe {recipe_id} has no trigger state")
        state.cursor, state.backfill_from, state.primed = cursor, backfill_from, False
        state.next_poll_at, state.consecutive_failures, state.last_error = None, 0, None
        details = {"cursor": cursor, "backfill_from": backfill_from.isoformat() if backfill_from else None}
        audit(session, actor, "trigger.reset", "recipe", str(recipe_id), details)
