"""Vendor-side webhook registrations follow the recipe: registered when enabled, removed when not.

What was registered is stored with the trigger spec it was made for, so a changed trigger (or a
deleted recipe) removes the registration made under the old settings before making a new one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from hub.db.models import HookEndpoint, Recipe, RecipeVersion, TriggerState
from hub.engine.poller import build_context
from hub.sdk.errors import HubError

if TYPE_CHECKING:
    from hub.runtime import Runtime

log = logging.getLogger("hub.subscriptions")


def _spec_key(spec: dict[str, Any]) -> list[Any]:
    return [spec.get("connector"), spec.get("trigger"), spec.get("connection"), spec.get("config") or {}]


def sync_subscription(rt: Runtime, recipe_id: int) -> str | None:
    """Make the vendor's registration match the recipe; returns a problem to show, or None."""
    with rt.db.transaction() as session:
        recipe = session.get(Recipe, recipe_id)
        if recipe is None:
            return None
        state = session.scalar(select(TriggerState).where(TriggerState.recipe_id == recipe_id))
        document = session.scalars(
            select(RecipeVersion.document).where(
                RecipeVersion.recipe_id == recipe_id, RecipeVersion.version == recipe.current_version
            )
        ).one()
        token = session.scalar(
            select(HookEndpoint.token).where(
                HookEndpoint.recipe_id == recipe_id, HookEndpoint.step_id.is_(None)
            )
        )
        active = recipe.enabled and recipe.deleted_at is None and token is not None
        existing = dict(state.subscription) if state is not None and state.subscription else None
        state_id = state.id if state is not None else None
    spec = document["trigger"]
    problem = None
    if existing and (not active or existing["spec"] != _spec_key(spec)):
        problem = _unsubscribe(rt, existing)
        if problem is None:
            _store(rt, state_id, None)
            existing = None
    if active and existing is None and state_id is not None:
        hook_url = f"{rt.settings.base_url}/hooks/{token}"
        problem = _subscribe(rt, spec, hook_url, state_id) or problem
    return problem


def _trigger(rt: Runtime, spec: dict[str, Any]) -> tuple[Any, Any]:
    connector = rt.registry.get(spec["connector"])
    trigger = connector.trigger(spec["trigger"]) if connector else None
    return connector, trigger


def _subscribe(rt: Runtime, spec: dict[str, Any], hook_url: str, state_id: int) -> str | None:
    connector, trigger = _trigger(rt, spec)
    if trigger is None or trigger.kind != "webhook":
        return None
    try:
        ctx = build_context(rt, connector, spec.get("connection"), hook_url=hook_url)
        result = trigger.subscribe(ctx, spec.get("config") or {}, hook_url)
    except HubError as exc:
        message = f"could not register the webhook with {connector.name}: {exc.message}"
        _store(rt, state_id, None, error=message)
        log.warning("event=subscribe_failed connector=%s error=%s", connector.id, exc.message)
        return message
    if result is not None:
        _store(rt, state_id, {"spec": _spec_key(spec), "hook_url": hook_url, "state": result})
    return None


def _unsubscribe(rt: Runtime, existing: dict[str, Any]) -> str | None:
    connector_id, trigger_key, connection, config = existing["spec"]
    spec = {"connector": connector_id, "trigger": trigger_key, "connection": connection, "config": config}
    connector, trigger = _trigger(rt, spec)
    if trigger is None:
        return None
    try:
        ctx = build_context(rt, connector, connection, hook_url=existing.get("hook_url"))
        trigger.unsubscribe(ctx, config, existing["state"])
    except HubError as exc:
        log.warning("event=unsubscribe_failed connector=%s error=%s", connector.id, exc.message)
        return f"could not remove the webhook registered with {connector.name}: {exc.message}"
    return None


def _store(
    rt: Runtime, state_id: int | None, subscription: dict[str, Any] | None, error: str | None = None
) -> None:
    if state_id is None:
        return
    with rt.db.transaction() as session:
        state = session.get(TriggerState, state_id)
        if state is not None:
            state.subscription = subscription
            if error is not None:
                state.last_error = error
