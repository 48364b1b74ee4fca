"""A recipe's statistics page: runs per day by status, duration percentiles, step failure rates, wait
times, and two versions side by side when both ran in the period (figures from hub/stats.py)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import abort, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup

from hub.connections import NotFound
from hub.current import runtime
from hub.db.models import utcnow
from hub.recipe_store import get_recipe
from hub.stats import Period, daily_runs, recipe_stats
from hub.web import web
from hub.web.auth import page
from hub.web.chart import COLOURS, HBar, day_bars, render_hbars, render_svg
from hub.web.common import status_label

PERIODS = (7, 30, 90)
COMPARED = ("#1565c0", "#ef6c00")  # version A, version B


def _svg(markup: str) -> Markup:
    return Markup(markup)  # noqa: S704 (the chart functions escape every text they write)


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}% ({part}/{whole})" if whole else "—"


def _failure_rate(step: dict[str, Any]) -> float | None:
    tried = step["succeeded"] + step["failed"]
    return round(100 * step["failed"] / tried, 1) if tried else None


def compared_versions(by_version: dict[str, Any]) -> list[str]:
    """The two newest versions with runs in the period, older first (A then B); fewer: none."""
    with_runs = sorted((int(v) for v, f in by_version.items() if sum(f["runs"].values())), reverse=True)
    return [str(v) for v in sorted(with_runs[:2])] if len(with_runs) >= 2 else []


def _duration_chart(figures: dict[str, Any], versions: list[str]) -> str:
    groups = [(_("All versions"), figures, COLOURS["succeeded"])]
    groups += [
        (_("Version %(n)s", n=v), figures["by_version"][v], c)
        for v, c in zip(versions, COMPARED, strict=False)
    ]
    rows = [
        HBar(
            f"{name} · {key}",
            _ms(group["duration_ms"][key]),
            colour,
            _duration_text(group["duration_ms"][key]),
        )
        for name, group, colour in groups
        for key in ("p50", "p95")
    ]
    return render_hbars(rows, _("Run duration percentiles (seconds)"), "duration-title")


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value / 1000, 3)


def _duration_text(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} ms" if value < 1000 else _seconds_text(round(value / 1000, 1))


def _step_chart(figures: dict[str, Any], versions: list[str]) -> str:
    rows = []
    for path, step in figures["steps"].items():
        rows.append(
            HBar(
                path,
                _failure_rate(step),
                COLOURS["failed"],
                _percent(step["failed"], step["succeeded"] + step["failed"]),
            )
        )
        for version, colour in zip(versions, COMPARED, strict=False):
            mine = figures["by_version"][version]["steps"].get(path)
            if mine:
                tried = mine["succeeded"] + mine["failed"]
                rows.append(
                    HBar(f"  v{version}", _failure_rate(mine), colour, _percent(mine["failed"], tried))
                )
    return render_hbars(rows, _("Step failure rate (%)"), "steps-title")


def _wait_chart(figures: dict[str, Any]) -> str:
    rows = [
        HBar(
            f"{step_id} · {key}", wait["wait_s"][key], COLOURS["waiting"], _seconds_text(wait["wait_s"][key])
        )
        for step_id, wait in figures["waits"].items()
        for key in ("p50", "p95")
    ]
    return render_hbars(rows, _("Wait time percentiles (seconds)"), "waits-title")


def _seconds_text(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 120:
        return f"{value:g} s"
    return f"{value / 60:.1f} min" if value < 7200 else f"{value / 3600:.1f} h"


@web.get("/recipes/<int:recipe_id>/stats")
@page("viewer")
def recipe_stats_page(recipe_id: int) -> Any:
    days = request.args.get("days", type=int) or 30
    if days not in PERIODS:
        days = 30
    first = utcnow().date() - timedelta(days=days - 1)
    period = Period(since=datetime.combine(first, time(), UTC))
    with runtime().db.read() as session:
        try:
            recipe = get_recipe(session, recipe_id)
        except NotFound:
            abort(404)
        figures = recipe_stats(session, recipe_id, period)
        daily = daily_runs(session, recipe_id, period)
    labels = {s: status_label(s) for s in COLOURS}
    bars = day_bars(daily, first, days)
    runs_chart = render_svg(
        bars,
        _("Runs per day by status, last %(n)s days (UTC)", n=days),
        labels,
        chart_id="runs-title",
        tick="%m-%d",
        tip="%Y-%m-%d",
        tick_every=max(1, days // 10),
    )
    versions = compared_versions(figures["by_version"])
    return render_template(
        "recipe_stats.html",
        recipe=recipe,
        days=days,
        periods=PERIODS,
        figures=figures,
        versions=versions,
        colours=COLOURS,
        runs_chart=_svg(runs_chart),
        duration_chart=_svg(_duration_chart(figures, versions)),
        step_chart=_svg(_step_chart(figures, versions)) if figures["steps"] else None,
        wait_chart=_svg(_wait_chart(figures)) if figures["waits"] else None,
        duration_text=_duration_text,
        seconds_text=_seconds_text,
        percent=_percent,
    )
