"""Runs: list with filters and keyset pagination, detail, replay, cancel, resolve held runs."""

from __future__ import annotations

from flask import Response, g, request
from sqlalchemy import select

from hub.api import api_blueprint
from hub.api.auth import requires
from hub.api.common import ApiError, body_object, int_arg, reply
from hub.api.views import run_view
from hub.app import runtime
from hub.audit import audit
from hub.db.models import Run
from hub.engine import control

RESOLUTIONS = ("retry", "mark_done", "fail")
STATUSES = ("queued", "running", "waiting", "held", "succeeded", "failed", "filtered", "cancelled")


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
        raise ApiError(422, "invalid", "$.from_step: must be a step id", {"path": "$.from_step"})
    with rt.db.transaction() as session:
        new = control.replay(session, run_id, from_step=from_step or None)
        audit(session, g.actor, "run.replay", "run", str(run_id), {"new_run": new.id, "from_step": from_step})
        new_id = new.id
    rt.dispatch([new_id])
    with rt.db.transaction() as session:
        return reply(run_view(session, control.get_run(session, new_id)), 201)


@api_blueprint.post("/runs/<int:run_id>/cancel")
@requires("editor")
def run_cancel(run_id: int) -> Response:
    with runtime().db.transaction() as session:
        run = control.cancel(session, run_id)
        audit(session, g.actor, "run.cancel", "run", str(run_id))
        return reply(run_view(session, run))


@api_blueprint.post("/runs/<int:run_id>/resolve")
@requires("editor")
def run_resolve(run_id: int) -> Response:
    rt = runtime()
    data = body_object()
    action, output = data.get("action"), data.get("output")
    if action not in RESOLUTIONS:
        raise ApiError(
            422, "invalid", f"$.action: must be one of {', '.join(RESOLUTIONS)}", {"path": "$.action"}
        )
    if output is not None and not isinstance(output, dict):
        raise ApiError(422, "invalid", "$.output: must be an object", {"path": "$.output"})
    with rt.db.transaction() as session:
        control.resolve(session, run_id, action, output)
        audit(session, g.actor, "run.resolve", "run", str(run_id), {"action": action})
    rt.dispatch([run_id])
    with rt.db.transaction() as session:
        return reply(run_view(session, control.get_run(session, run_id)))
