"""Recipes: versions on every save, restore, A/B splits, enable/disable, test runs, bulk replay,
trigger cursor reset."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, g
from sqlalchemy import select

from hub.api import api_blueprint
from hub.api.auth import requires
from hub.api.common import ApiError, body, body_object, reply
from hub.current import runtime
from hub.db.models import Recipe, RecipeVersion
from hub.engine import control
from hub.presentation import recipe_detail, recipe_summary, run_view
from hub.recipe_split import parse_weights
from hub.recipe_store import get_recipe, version_document
from hub.recipes import without_secrets
from hub.services import recipes as service
from hub.services import splits


def _instant(data: dict[str, Any], field: str) -> datetime | None:
    """An optional ISO-8601 date-time with a time zone from the body; 422 naming the field otherwise."""
    value = data.get(field)
    if value is None:
        return None
    try:
        instant = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(
            422, "invalid", f"$.{field}: not an ISO-8601 date-time", {"path": f"$.{field}"}
        ) from exc
    if instant.tzinfo is None:
        raise ApiError(422, "invalid", f"$.{field}: give a time zone (e.g. Z)", {"path": f"$.{field}"})
    return instant


@api_blueprint.post("/recipes")
@requires("editor")
def recipe_create() -> Response:
    saved = service.save_recipe(runtime(), body(allow_yaml=True), actor=g.actor)
    return reply(saved.answer(), 201)


@api_blueprint.get("/recipes")
@requires("viewer")
def recipe_list_all() -> Response:
    rt = runtime()
    with rt.db.transaction() as session:
        recipes = session.scalars(select(Recipe).where(Recipe.deleted_at.is_(None)).order_by(Recipe.id))
        return reply({"recipes": [recipe_summary(session, rt, r) for r in recipes]})


@api_blueprint.get("/recipes/<int:recipe_id>")
@requires("viewer")
def recipe_get_one(recipe_id: int) -> Response:
    rt = runtime()
    with rt.db.transaction() as session:
        return reply(recipe_detail(session, rt, get_recipe(session, recipe_id)))


@api_blueprint.put("/recipes/<int:recipe_id>")
@requires("editor")
def recipe_update(recipe_id: int) -> Response:
    saved = service.save_recipe(runtime(), body(allow_yaml=True), actor=g.actor, recipe_id=recipe_id)
    return reply(saved.answer())


@api_blueprint.delete("/recipes/<int:recipe_id>")
@requires("editor")
def recipe_remove(recipe_id: int) -> Response:
    service.delete_recipe(runtime(), recipe_id, actor=g.actor)
    return Response(status=204)


def _toggle(recipe_id: int, enabled: bool) -> Response:
    return reply(service.set_enabled(runtime(), recipe_id, enabled, actor=g.actor).answer())


@api_blueprint.post("/recipes/<int:recipe_id>/enable")
@requires("editor")
def recipe_enable(recipe_id: int) -> Response:
    return _toggle(recipe_id, True)


@api_blueprint.post("/recipes/<int:recipe_id>/disable")
@requires("editor")
def recipe_disable(recipe_id: int) -> Response:
    return _toggle(recipe_id, False)


@api_blueprint.get("/recipes/<int:recipe_id>/versions")
@requires("viewer")
def recipe_versions(recipe_id: int) -> Response:
    with runtime().db.transaction() as session:
        get_recipe(session, recipe_id)
        rows = session.scalars(
            select(RecipeVersion).where(RecipeVersion.recipe_id == recipe_id).order_by(RecipeVersion.version)
        )
        return reply(
            {
                "versions": [
                    {"version": v.version, "created_at": v.created_at.isoformat(), "created_by": v.created_by}
                    for v in rows
                ]
            }
        )


@api_blueprint.get("/recipes/<int:recipe_id>/versions/<int:version>")
@requires("viewer")
def recipe_version(recipe_id: int, version: int) -> Response:
    rt = runtime()
    with rt.db.transaction() as session:
        get_recipe(session, recipe_id)
        document = version_document(session, recipe_id, version)
        return reply({"version": version, "document": without_secrets(document, rt.registry)})


@api_blueprint.post("/recipes/<int:recipe_id>/versions/<int:version>/restore")
@requires("editor")
def recipe_restore(recipe_id: int, version: int) -> Response:
    """Save an earlier version's document again as the newest version (ending any A/B split)."""
    saved = service.restore_version(runtime(), recipe_id, version, actor=g.actor)
    return reply(saved.answer(), 201)


@api_blueprint.get("/recipes/<int:recipe_id>/split")
@requires("viewer")
def recipe_split_get(recipe_id: int) -> Response:
    return reply(splits.get_split(runtime(), recipe_id))


@api_blueprint.put("/recipes/<int:recipe_id>/split")
@requires("editor")
def recipe_split_set(recipe_id: int) -> Response:
    """Send new runs to versions by weight, {"versions": {"3": 50, "4": 50}} (see hub.recipe_split)."""
    weights = parse_weights(body_object())
    return reply(splits.set_split(runtime(), recipe_id, weights, actor=g.actor))


@api_blueprint.delete("/recipes/<int:recipe_id>/split")
@requires("editor")
def recipe_split_end(recipe_id: int) -> Response:
    return reply(splits.end_split(runtime(), recipe_id, actor=g.actor))


@api_blueprint.post("/recipes/<int:recipe_id>/test")
@requires("editor")
def recipe_test(recipe_id: int) -> Response:
    """Run the current version on a given event now: a dry run renders every step and performs none."""
    rt = runtime()
    data = body_object()
    event = data.get("event", {})
    if not isinstance(event, dict):
        raise ApiError(422, "invalid", "$.event: must be an object", {"path": "$.event"})
    dry_run = data.get("dry_run", True)
    if not isinstance(dry_run, bool):
        raise ApiError(422, "invalid", "$.dry_run: must be true or false", {"path": "$.dry_run"})
    run_id = service.run_test(rt, recipe_id, event, dry_run=dry_run, actor=g.actor)
    with rt.db.transaction() as session:
        return reply(run_view(session, control.get_run(session, run_id)))


@api_blueprint.post("/recipes/<int:recipe_id>/replay")
@requires("editor")
def recipe_replay_failed(recipe_id: int) -> Response:
    rt = runtime()
    data = body_object()
    if data.get("status", "failed") != "failed":
        raise ApiError(
            422, "invalid", "$.status: only failed runs are replayed in bulk", {"path": "$.status"}
        )
    ids = service.replay_failed(rt, recipe_id, _instant(data, "since"), actor=g.actor)
    return reply({"runs": ids})


@api_blueprint.post("/recipes/<int:recipe_id>/trigger/reset")
@requires("editor")
def recipe_reset_trigger(recipe_id: int) -> Response:
    """Set (or clear) the poll cursor and the backfill start (see services.recipes.reset_trigger)."""
    rt = runtime()
    data = body_object()
    cursor = data.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise ApiError(422, "invalid", "$.cursor: must be a string or null", {"path": "$.cursor"})
    service.reset_trigger(rt, recipe_id, cursor, _instant(data, "backfill_from"), actor=g.actor)
    with rt.db.transaction() as session:
        return reply(recipe_detail(session, rt, get_recipe(session, recipe_id)))
