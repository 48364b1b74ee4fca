"""Runs that update themselves: the small state a page polls for, and the route that serves it.

Pages poll `GET /runs/live?ids=...` every few seconds rather than holding a server-sent-events
stream: waitress serves from a fixed pool of threads (`hub serve --threads`, 16), and each open
stream would keep one busy for as long as the tab is open, so a handful of tabs could starve the
API and webhooks. A poll is one indexed query and returns at once; the script stops polling when
every run shown is over and while the tab is hidden.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.current import runtime
from hub.db.models import Run, StepRun
from hub.ids import parse_id
from hub.web import web
from hub.web.auth import page
from hub.web.common import status_label

FINAL = frozenset({"succeeded", "failed", "filtered", "cancelled"})
PAUSED_STEP = ("retrying", "waiting", "held")  # a step the run is stopped at, in order of interest
MAX_IDS = 100


def _when(run: Run) -> str:
    return format_datetime(run.wake_at, "yyyy-MM-dd HH:mm:ss") if run.wake_at else ""


def _note(status: str, step: str | None, run: Run) -> str:
    """What the run waits for, in words: the step and the time of its next attempt or wake-up."""
    if step is None:
        return ""
    if status == "retrying":
        return _("Step %(step)s tries again at %(at)s (UTC).", step=step, at=_when(run))
    if status == "held":
        return _("Step %(step)s waits for a person to resolve it.", step=step)
    if run.wake_at is not None:
        return _("Step %(step)s waits until %(at)s (UTC).", step=step, at=_when(run))
    return _("Step %(step)s waits for an event.", step=step)


def _step_state(step: StepRun) -> dict[str, Any]:
    return {"status": step.status, "label": status_label(step.status), "attempts": step.attempts}


def live_states(db: Session, runs: list[Run]) -> dict[int, dict[str, Any]]:
    """Each run's shown status (a queued run whose step waits to retry shows as retrying), the step
    it waits at with a sentence about it, and its steps' statuses, in one query for all the runs."""
    steps: dict[int, list[StepRun]] = {run.id: [] for run in runs}
    if runs:
        query = select(StepRun).where(StepRun.run_id.in_(steps)).order_by(StepRun.run_id, StepRun.position)
        for step in db.scalars(query):
            steps[step.run_id].append(step)
    states = {}
    for run in runs:
        paused = next((s for kind in PAUSED_STEP for s in steps[run.id] if s.status == kind), None)
        retrying = run.status == "queued" and paused is not None and paused.status == "retrying"
        shown = "retrying" if retrying else run.status
        step_states = {f"{s.phase}:{s.path}": _step_state(s) for s in steps[run.id]}
        moves = (f"{key}={state['status']}/{state['attempts']}" for key, state in step_states.items())
        fingerprint = "|".join([shown, *moves])
        states[run.id] = {
            "id": run.id,
            "status": shown,
            "label": status_label(shown),
            "final": run.status in FINAL,
            "wake_at": run.wake_at.isoformat() if run.wake_at else None,
            "step": paused.path if paused else None,  # the step's id, with its place inside a loop or branch
            "note": _note(paused.status, paused.path, run) if paused else "",
            "steps": step_states,
            "fingerprint": fingerprint,  # changes whenever the run page would show something new
        }
    return states


@web.get("/runs/live")
@page("viewer")
def runs_live() -> Any:
    """The live state of the runs named in `ids` (comma-separated, at most 100); unknown ids are left out."""
    raw = [part for part in (request.args.get("ids") or "").split(",") if part]
    ids = [parse_id(part) for part in raw]
    if not ids or len(ids) > MAX_IDS or any(i is None for i in ids):
        return jsonify(error=f"ids: 1 to {MAX_IDS} run ids, comma-separated"), 400
    with runtime().db.transaction() as db:
        runs = list(db.scalars(select(Run).where(Run.id.in_(ids))))
        states = live_states(db, runs)
    return jsonify(runs=[states[i] for i in sorted(states)])
