"""Statistics of recipes' runs over a period (hub/stats.py): one recipe, or every recipe."""

from __future__ import annotations

from flask import Response
from sqlalchemy import select

from hub.api import api_blueprint
from hub.api.auth import requires
from hub.api.common import reply, time_arg
from hub.api.guard import in_projects
from hub.current import runtime
from hub.db.models import Recipe
from hub.recipe_store import get_recipe
from hub.stats import Period, empty, gather, recipe_stats


def period() -> Period:
    """`since` and `until` from the query (400 naming the one that is malformed); an `until` not after
    `since` is an empty period."""
    return Period(time_arg("since"), time_arg("until"))


@api_blueprint.get("/recipes/<int:recipe_id>/stats")
@requires("viewer")
def recipe_stats_get(recipe_id: int) -> Response:
    wanted = period()
    with runtime().db.read() as session:
        get_recipe(session, recipe_id)
        return reply(recipe_stats(session, recipe_id, wanted))


@api_blueprint.get("/stats")
@requires("viewer")
def stats_all() -> Response:
    wanted = period()
    with runtime().db.read() as session:
        query = select(Recipe.id, Recipe.name).where(Recipe.deleted_at.is_(None))
        names = dict(session.execute(in_projects(query, Recipe.project_id)).all())  # the caller's only
        figures = gather(session, None, wanted)
    return reply(
        {
            "recipes": {
                str(rid): {"name": name, **(figures.get(rid) or empty())} for rid, name in names.items()
            }
        }
    )
