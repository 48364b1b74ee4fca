"""`delay` steps park the run (`waiting`, with a wake-up time); the wake-up finishes the step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hub import templating
from hub.db.models import utcnow
from hub.engine.run.execution import Execution
from hub.engine.run.outcomes import Done, Outcome, Parked
from hub.engine.run.state import StepAt
from hub.sdk.errors import RecipeError


def run(ex: Execution, at: StepAt, step: dict[str, Any]) -> Outcome:
    seconds = templating.render_value(step["seconds"], at.context, f"{at.path}.seconds")
    try:
        seconds = float(seconds)
    except (TypeError, ValueError) as exc:
        raise RecipeError(f"{at.path}.seconds: not a number: {seconds!r}", path=f"{at.path}.seconds") from exc
    if ex.state.run.dry_run or seconds <= 0:
        ex.save_step(at, status="succeeded", input={"seconds": seconds}, output={})
        return Done({})
    wake = utcnow() + timedelta(seconds=seconds)
    ex.park(at, "waiting", wake_at=wake, status="waiting", input={"seconds": seconds}, started_at=utcnow())
    return Parked("waiting")


def resume(ex: Execution, at: StepAt, step: dict[str, Any], status: str) -> Outcome:
    """Taken up while waiting: the delay is over unless the run was woken for another of its steps
    (a parallel branch's event), which leaves this one parked until its own time."""
    if status != "waiting":
        return ex.stay_parked(at, status)
    known = ex.state.step(at)
    seconds = ((known.input if known else None) or {}).get("seconds") or 0
    started = known.started_at if known else None
    if started is not None and at.nested:
        wake = started + timedelta(seconds=float(seconds))
        if wake > utcnow():
            return ex.stay_parked(at, "waiting", wake_at=wake)
    ex.save_step(at, status="succeeded", output={}, finished_at=utcnow())
    return Done({})
