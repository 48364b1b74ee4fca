"""Runs: a filterable list, a run page (steps, attempts, rendered input, output, errors; secrets
redacted by the same run view as the API's), replay whole or from a step, cancel, resolve held runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from hub import jsonutil
from hub.current import runtime
from hub.db.models import Event, Recipe, Run
from hub.engine import control
from hub.ids import parse_id
from hub.presentation import RESOLUTIONS, STATUSES, run_view
from hub.sdk.errors import HubError
from hub.services import InvalidInput
from hub.services import runs as service
from hub.web import web
from hub.web.auth import page
from hub.web.common import flash_error, flash_ok
from hub.web.run_live import live_states

PAGE_SIZE = 50


def _instant(text: str | None) -> datetime | None:
    """A `datetime-local` value, read as UTC (the page says so)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _test_runs(db: Any, rows: list[Run]) -> set[int]:
    """The runs among `rows` started as tests (the editor's, the recipe page's, the API's): their
    event came from a test, not from the trigger."""
    events = {r.event_id for r in rows if r.event_id is not None}
    if not events:
        return set()
    tests = set(db.scalars(select(Event.id).where(Event.id.in_(events), Event.source == "test")))
    return {r.id for r in rows if r.event_id in tests}


@web.get("/runs")
@page("viewer")
def runs() -> Any:
    recipe_id = request.args.get("recipe_id", type=parse_id)
    status = request.args.get("status") or ""
    since, until = _instant(request.args.get("since")), _instant(request.args.get("until"))
    cursor = request.args.get("cursor", type=parse_id)
    query = (
        select(Run)
        .join(Recipe, Recipe.id == Run.recipe_id)
        .where(Recipe.project_id == g.project_id)
        .order_by(Run.id.desc())
        .limit(PAGE_SIZE + 1)
    )
    if recipe_id:
        query = query.where(Run.recipe_id == recipe_id)
    if status in STATUSES:
        query = query.where(Run.status == status)
    if since:
        query = query.where(Run.created_at >= since)
    if until:
        query = query.where(Run.created_at <= until)
    if cursor:
        query = query.where(Run.id < cursor)
    with runtime().db.transaction() as db:
        rows = list(db.scalars(query))
        items = [run_view(db, r, with_steps=False) for r in rows[:PAGE_SIZE]]
        tests = _test_runs(db, rows[:PAGE_SIZE])
        live = live_states(db, rows[:PAGE_SIZE])
        names = dict(db.execute(select(Recipe.id, Recipe.name)).all())
    next_cursor = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    filters: dict[str, Any] = {k: v for k, v in request.args.items() if k != "cursor" and v}
    return render_template(
        "runs.html",
        runs=items,
        tests=tests,
        live=live,
        names=names,
        statuses=STATUSES,
        filters=request.args,
        next_url=url_for("web.runs", **filters, cursor=next_cursor) if next_cursor else None,
    )


@web.get("/runs/<int:run_id>")
@page("viewer")
def run_page(run_id: int) -> Any:
    with runtime().db.transaction() as db:
        try:
            run = control.get_run(db, run_id)
        except HubError:
            return render_template("error.html", code=404, message=_("This run does not exist.")), 404
        view, live = run_view(db, run), live_states(db, [run])[run.id]
        test = bool(_test_runs(db, [run]))
        recipe = db.get(Recipe, view["recipe_id"])
        name = recipe.name if recipe else str(view["recipe_id"])
    return render_template(
        "run.html",
        run=view,
        test=test,
        live=live,
        recipe_name=name,
        dumps=lambda v: jsonutil.dumps(v, indent=2),
        resolutions=RESOLUTIONS,
    )


@web.post("/runs/<int:run_id>/replay")
@page("operator")
def run_replay(run_id: int) -> Any:
    from_step = request.form.get("from_step") or None
    try:
        new_id = service.replay_run(runtime(), run_id, from_step=from_step, actor=g.actor)
    except HubError as exc:
        flash_error(exc)
        return redirect(url_for("web.run_page", run_id=run_id))
    flash_ok(_("Replay started as run %(id)s.", id=new_id))
    return redirect(url_for("web.run_page", run_id=new_id))


@web.post("/runs/<int:run_id>/cancel")
@page("operator")
def run_cancel(run_id: int) -> Any:
    try:
        service.cancel_run(runtime(), run_id, actor=g.actor)
    except HubError as exc:
        flash_error(exc)
    else:
        flash_ok(_("Run cancelled."))
    return redirect(url_for("web.run_page", run_id=run_id))


@web.post("/runs/<int:run_id>/resolve")
@page("operator")
def run_resolve(run_id: int) -> Any:
    try:
        service.resolve_run(runtime(), run_id, request.form.get("action"), actor=g.actor)
    except InvalidInput:
        flash_error(_("Choose retry, mark done or fail."))
        return redirect(url_for("web.run_page", run_id=run_id))
    except HubError as exc:
        flash_error(exc)
        return redirect(url_for("web.run_page", run_id=run_id))
    flash_ok(_("Run resumed."))
    return redirect(url_for("web.run_page", run_id=run_id))
