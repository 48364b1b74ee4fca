"""The dashboard: runs per hour by status (SVG), the recipes failing most, failures needing attention,
polling triggers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import g, render_template
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import case, func, select

from hub.current import runtime
from hub.db.models import Recipe, Run, TriggerState, utcnow
from hub.presentation import trigger_state_view
from hub.recipe_store import current_document
from hub.sdk.connector import PollingTrigger
from hub.stats import FINISHED
from hub.web import web
from hub.web.auth import page
from hub.web.chart import COLOURS, hour_bars, render_svg
from hub.web.common import status_label

ATTENTION_DAYS = 7
TOP_FAILING = 5


def top_failing(db: Any, since: Any) -> list[dict[str, Any]]:
    """The recipes with the most failed runs created since `since`, with their failure rate."""
    failed = func.sum(case((Run.status == "failed", 1), else_=0))
    finished = func.sum(case((Run.status.in_(FINISHED), 1), else_=0))
    rows = db.execute(
        select(Run.recipe_id, failed, finished)
        .where(Run.created_at >= since, Run.dry_run.is_(False))
        .group_by(Run.recipe_id)
        .having(failed > 0)
        .order_by(failed.desc(), Run.recipe_id)
        .limit(TOP_FAILING)
    )
    return [{"recipe_id": r, "failed": int(f), "finished": int(n)} for r, f, n in rows]


@web.get("/")
@page("viewer")
def dashboard() -> Any:
    rt = runtime()
    now = utcnow()
    with rt.db.transaction() as db:
        rows = list(
            db.execute(
                select(Run.created_at, Run.status)
                .join(Recipe, Recipe.id == Run.recipe_id)
                .where(Run.created_at >= now - timedelta(hours=25), Recipe.project_id == g.project_id)
            )
        )
        replayed = set(db.scalars(select(Run.replay_of).where(Run.replay_of.is_not(None))))
        attention = [
            {
                "id": r.id,
                "recipe_id": r.recipe_id,
                "status": r.status,
                "created_at": r.created_at,
                "error": (r.error or {}).get("message"),
            }
            for r in db.scalars(
                select(Run)
                .join(Recipe, Recipe.id == Run.recipe_id)
                .where(
                    Run.status.in_(("failed", "held")),
                    Run.created_at >= now - timedelta(days=ATTENTION_DAYS),
                    Recipe.project_id == g.project_id,
                )
                .order_by(Run.id.desc())
                .limit(100)
            )
            if r.id not in replayed
        ][:20]
        failing = top_failing(db, now - timedelta(days=ATTENTION_DAYS))
        names = dict(db.execute(select(Recipe.id, Recipe.name)).all())
        polling = []
        for recipe, state in db.execute(
            select(Recipe, TriggerState)
            .join(TriggerState, TriggerState.recipe_id == Recipe.id)
            .where(Recipe.deleted_at.is_(None), Recipe.project_id == g.project_id)
            .order_by(Recipe.name)
        ):
            spec = current_document(db, recipe)["trigger"]
            connector = rt.registry.get(spec["connector"])
            trigger = connector.trigger(spec["trigger"]) if connector else None
            if isinstance(trigger, PollingTrigger):
                polling.append({"recipe": recipe, "trigger": spec, "state": trigger_state_view(state)})
    labels = {s: status_label(s) for s in COLOURS}
    bars = hour_bars(rows, now)
    totals: dict[str, int] = {}
    for bar in bars:
        for status, count in bar.counts.items():
            totals[status] = totals.get(status, 0) + count
    svg = render_svg(bars, _("Runs per hour by status, last 24 hours (UTC)"), labels)
    return render_template(
        "dashboard.html",
        chart=Markup(svg),  # noqa: S704 (render_svg escapes every text it writes)
        totals=totals,
        colours=COLOURS,
        attention=attention,
        failing=failing,
        names=names,
        polling=polling,
    )
