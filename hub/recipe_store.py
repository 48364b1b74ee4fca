"""Saving recipes: every save is a new immutable version; enabling sets up hooks and trigger state."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.connections import NotFound, lookup_by_name
from hub.db.models import HookEndpoint, Recipe, RecipeVersion, TriggerState, utcnow
from hub.recipe_calls import CallGraph, resolver
from hub.recipe_index import current_document, mark_changed
from hub.recipe_secrets import open_document, seal_document
from hub.recipes import iter_steps, keep_secrets, step_type, validate_document
from hub.sdk.connector import WebhookTrigger

if TYPE_CHECKING:
    from hub.runtime import Runtime


class HasId(Protocol):
    """A recipe as a row or as the runner's plain record: only its id is read."""

    @property
    def id(self) -> int: ...


def trigger_signature(document: dict[str, Any]) -> str:
    """A new signature means a different source: the poll cursor and seen items start over."""
    spec = document["trigger"]
    key = [spec["connector"], spec["trigger"], spec.get("connection"), spec.get("config") or {}]
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


def get_recipe(session: Session, recipe_id: int) -> Recipe:
    recipe = session.get(Recipe, recipe_id)
    if recipe is None or recipe.deleted_at is not None:
        raise NotFound(f"recipe {recipe_id} not found")
    return recipe


def version_document(session: Session, recipe_id: int, version: int) -> dict[str, Any]:
    """One version's stored document (its secrets sealed); NotFound when the recipe has no such version."""
    found = session.scalar(
        select(RecipeVersion.document).where(
            RecipeVersion.recipe_id == recipe_id, RecipeVersion.version == version
        )
    )
    if found is None:
        raise NotFound(f"recipe {recipe_id} has no version {version}")
    return found


def hook_urls(session: Session, runtime: Runtime, recipe: HasId) -> dict[str, Any]:
    """The webhook URL of a recipe's trigger and of each of its wait_for steps that takes webhooks."""
    urls: dict[str, Any] = {}
    for endpoint in session.scalars(select(HookEndpoint).where(HookEndpoint.recipe_id == recipe.id)):
        url = f"{runtime.settings.base_url}/hooks/{endpoint.token}"
        if endpoint.step_id is None:
            urls["webhook_url"] = url
        else:
            urls.setdefault("wait_urls", {})[endpoint.step_id] = url
    return urls


def _ensure_endpoints(session: Session, runtime: Runtime, recipe: Recipe, document: dict[str, Any]) -> None:
    wanted: set[str | None] = set()
    trigger = runtime.registry.get(document["trigger"]["connector"])
    if trigger and isinstance(trigger.trigger(document["trigger"]["trigger"]), WebhookTrigger):
        wanted.add(None)
    for _phase, _path, step in iter_steps(document):
        if step_type(step) == "wait_for":
            connector = runtime.registry.get(step["connector"])
            t = connector.trigger(step["trigger"]) if connector else None
            if isinstance(t, WebhookTrigger):
                wanted.add(step["id"])
    existing = {
        e.step_id: e for e in session.scalars(select(HookEndpoint).where(HookEndpoint.recipe_id == recipe.id))
    }
    for step_id, endpoint in existing.items():
        if step_id not in wanted:
            session.delete(endpoint)
    for step_id in wanted - set(existing):
        session.add(HookEndpoint(token=secrets.token_urlsafe(24), recipe_id=recipe.id, step_id=step_id))


def _reset_trigger_state(session: Session, recipe: Recipe, document: dict[str, Any]) -> None:
    signature = trigger_signature(document)
    state = session.scalar(select(TriggerState).where(TriggerState.recipe_id == recipe.id))
    start = document["trigger"].get("start") or "now"
    backfill = datetime.fromisoformat(start["backfill_from"]) if isinstance(start, dict) else None
    if state is not None and state.signature == signature:
        return
    subscription = None
    if state is not None:
        subscription = state.subscription  # removed with its old settings by sync_subscription
        session.delete(state)
        session.flush()
    session.add(
        TriggerState(
            recipe_id=recipe.id, signature=signature, backfill_from=backfill, subscription=subscription
        )
    )


def save_recipe(
    session: Session,
    runtime: Runtime,
    document: Any,
    *,
    recipe: Recipe | None = None,
    actor: str | None = None,
    keep_enabled: bool = False,
) -> Recipe:
    """Validate and store `document` as a new recipe, or as the next version of `recipe`.

    A new version ends the recipe's A/B split: it becomes the version every new run starts (and its
    trigger the one registered). `keep_enabled` leaves the recipe live or not as it was, whatever the
    document's `enabled` says (a restore, a save in the web UI)."""
    mark_changed(session)  # what the recipe index of every process holds
    if recipe is not None and isinstance(document, dict):
        current = current_document(session, recipe)
        previous = open_document(current, runtime.vault, runtime.registry, recipe.id, recipe.current_version)
        document = keep_secrets(document, previous, runtime.registry)
    calls = CallGraph(resolver(session), recipe.id if recipe is not None else None)
    doc = validate_document(document, runtime.registry, lookup_by_name(session), calls=calls)
    if recipe is None:
        recipe = Recipe(name=doc["name"], enabled=bool(doc["enabled"]), current_version=1)
        session.add(recipe)
        session.flush()
        version = 1
    else:
        version = recipe.current_version + 1
        recipe.name, recipe.current_version, recipe.split = doc["name"], version, None
        if not keep_enabled:
            recipe.enabled = bool(doc["enabled"])
    stored = seal_document(doc, runtime.vault, runtime.registry, recipe.id, version)
    session.add(RecipeVersion(recipe_id=recipe.id, version=version, document=stored, created_by=actor))
    session.flush()
    _ensure_endpoints(session, runtime, recipe, doc)
    _reset_trigger_state(session, recipe, doc)
    recipe.updated_at = utcnow()
    return recipe


def set_enabled(session: Session, recipe: Recipe, enabled: bool) -> None:
    """Enabling a polling recipe starts it "from now" again unless it was set to backfill."""
    mark_changed(session)  # what the recipe index of every process holds
    if recipe.enabled == enabled:
        return
    recipe.enabled = enabled
    recipe.updated_at = utcnow()
    state = session.scalar(select(TriggerState).where(TriggerState.recipe_id == recipe.id))
    if state is not None and enabled:
        state.paused, state.paused_reason = False, None
        state.auth_failures = state.consecutive_failures = 0
        state.next_poll_at = None


def delete_recipe(session: Session, recipe: Recipe) -> None:
    mark_changed(session)  # what the recipe index of every process holds
    recipe.deleted_at = recipe.updated_at = utcnow()
    recipe.enabled = False
    for endpoint in session.scalars(select(HookEndpoint).where(HookEndpoint.recipe_id == recipe.id)):
        session.delete(endpoint)
