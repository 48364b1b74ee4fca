"""Listening for a test event: the recipe editor asks to see the next event sent to a recipe's webhook.

While a recipe listens (`LISTEN_S` after the editor asks), the first event that arrives at its
trigger's address is kept on `hook_captures` for the editor to offer as the sample. A draft (not live)
recipe starts no run from it; a live recipe stores and runs its events as always, and the editor is
shown the first one received since listening began. Nothing here touches the live webhook path:
the ingress only asks `capture_target` for an address no live recipe answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models import Event, HookCapture, HookEndpoint, Recipe, utcnow
from hub.engine.contexts import build_context
from hub.recipe_index import current_version
from hub.runtime import Runtime
from hub.sdk.connector import PollingTrigger
from hub.sdk.errors import RecipeError

LISTEN_S = 300


@dataclass(frozen=True)
class Listening:
    """What the editor shows: whether it still listens, and the event that arrived (if one has)."""

    listening: bool
    event: Any


def start_listening(session: Session, recipe_id: int) -> None:
    """Listen again from now: an earlier capture is forgotten so the next event is the one shown."""
    now = utcnow()
    row = session.get(HookCapture, recipe_id)
    if row is None:
        row = HookCapture(recipe_id=recipe_id)
        session.add(row)
    row.started_at, row.listen_until = now, now + timedelta(seconds=LISTEN_S)
    row.payload, row.captured_at = None, None


def listening(session: Session, recipe_id: int) -> Listening:
    row = session.get(HookCapture, recipe_id)
    if row is None:
        return Listening(False, None)
    if row.payload is not None:
        return Listening(False, row.payload)
    live = session.scalar(
        select(Event.payload)
        .where(Event.recipe_id == recipe_id, Event.source == "webhook", Event.received_at >= row.started_at)
        .order_by(Event.id)
        .limit(1)
    )
    if live is not None:
        return Listening(False, live)
    return Listening(row.listen_until > utcnow(), None)


def capture_target(session: Session, token: str) -> tuple[Recipe, int, dict[str, Any]] | None:
    """(recipe, version, stored document) when `token` is the trigger address of a listening recipe."""
    endpoint = session.scalar(select(HookEndpoint).where(HookEndpoint.token == token))
    if endpoint is None or endpoint.step_id is not None:
        return None
    row = session.get(HookCapture, endpoint.recipe_id)
    recipe = session.get(Recipe, endpoint.recipe_id)
    if row is None or row.payload is not None or row.listen_until <= utcnow():
        return None
    if recipe is None or recipe.deleted_at is not None:
        return None
    _, _, version, stored = current_version(session, recipe.id)
    return recipe, version, stored


def keep(session: Session, recipe_id: int, payload: dict[str, Any]) -> bool:
    """Keep the first event for a listening recipe; False when another got there first."""
    row = session.get(HookCapture, recipe_id, with_for_update=True)
    if row is None or row.payload is not None:
        return False
    row.payload, row.captured_at = payload, utcnow()
    return True


def poll_sample(rt: Runtime, trigger_spec: dict[str, Any]) -> Any:
    """One item from a polling trigger, polled from its start without storing anything (no cursor
    moves, nothing is marked seen); the trigger's declared sample when the poll finds nothing."""
    connector = rt.registry.get(trigger_spec.get("connector") or "")
    trigger = connector.trigger(trigger_spec.get("trigger") or "") if connector else None
    if connector is None or not isinstance(trigger, PollingTrigger):
        raise RecipeError("$.trigger: choose a polling trigger to fetch a sample", path="$.trigger")
    ctx = build_context(rt, connector, trigger_spec.get("connection"))
    result = trigger.poll(ctx, trigger_spec.get("config") or {}, None)
    return result.items[0].data if result.items else trigger.sample
