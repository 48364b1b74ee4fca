"""The dashboard: runs per hour by status (SVG), failures needing attention, polling triggers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import g, render_template
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from hub.current import runtime
from hub.db.models import Recipe, Run, TriggerState, utcnow
from hub.presentation import trigger_state_view
from hub.recipe_store import current_document
from hub.sdk.connector import PollingTrigger
from hub.web import web
from hub.web.auth import page
from hub.web.chart import COLOURS, hour_bars, render_svg
from hub.web.common import status_label

ATTENTION_DAYS = 7


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
        names=names,
        polling=polling,
    )
