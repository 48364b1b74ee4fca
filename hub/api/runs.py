"""Runs: list with filters and keyset pagination, detail, replay, cancel, resolve held runs."""

from __future__ import annotations

from flask import Response, g, request
from sqlalchemy import select

from hub.api import api_blueprint
from hub.api.auth import requires
from hub.api.common import ApiError, body_object, int_arg, reply
from hub.current import runtime
from hub.db.models import Run
from hub.engine import control
from hub.presentation import STATUSES, run_view
from hub.services import runs as service


@api_blueprint.get("/runs")
@requires("viewer")
def run_list_runs() -> Response:
    limit = int_arg("limit", 50, high=200) or 50
    cursor = int_arg("cursor")
    recipe_id = int_arg("recipe_id")
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        raise ApiError(400, "bad_request", f"query parameter 'status' must be one of {', '.join(STATUSES)}")
    query = select(Run).order_by(Run.id.desc()).limit(limit + 1)
    if cursor:
        query = query.where(Run.id < cursor)
    if recipe_id:
        query = query.where(Run.recipe_id == recipe_id)
    if status:
        query = query.where(Run.status == status)
    with runtime().db.transaction() as session:
        rows = list(session.scalars(query))
        page = [run_view(session, run, with_steps=False) for run in rows[:limit]]
    return reply({"runs": page, "next_cursor": str(rows[limit - 1].id) if len(rows) > limit else None})


@api_blueprint.get("/runs/<int:run_id>")
@requires("viewer")
def run_get_run(run_id: int) -> Response:
    with runtime().db.transaction() as session:
        return reply(run_view(session, control.get_run(session, run_id)))


@api_blueprint.post("/runs/<int:run_id>/replay")
@requires("editor")
def run_replay(run_id: int) -> Response:
    rt = runtime()
    data = body_object()
    from_step = data.get("from_step")
    if from_step is not None and not isinstance(from_step, str):
        raise ApiError(422, "invalid", "$.from_step: must be a step id or path", {"path": "$.from_step"})
    new_id = service.replay_run(rt, run_id, from_step=from_step or None, actor=g.actor)
    with rt.db.transaction() as session:
        return reply(run_view(session, control.get_run(session, new_id)), 201)


@api_blueprint.post("/runs/<int:run_id>/cancel")
@requires("editor")
def run_cancel(run_id: int) -> Response:
    rt = runtime()
    service.cancel_run(rt, run_id, actor=g.actor)
    with rt.db.transaction() as session:
        return reply(run_view(session, control.get_run(session, run_id)))


@api_blueprint.post("/runs/<int:run_id>/resolve")
@requires("editor")
def run_resolve(run_id: int) -> Response:
    rt = runtime()
    data = body_object()
    service.resolve_run(rt, run_id, data.get("action"), data.get("output"), actor=g.actor)
    with rt.db.transaction() as session:
        return reply(run_view(session, control.get_run(session, run_id)))
