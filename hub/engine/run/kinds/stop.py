"""`stop` steps end the run with their status (`succeeded`, `failed` or `filtered`) and message.

The step's row and the run's end are one write; a `failed` stop ends the run without its
on_failure steps (the recipe chose to end it). Branches still going on stop at their next write.
"""

from __future__ import annotations

from typing import Any

from hub import templating
from hub.db.models import utcnow
from hub.engine.run.execution import Execution
from hub.engine.run.outcomes import Outcome, Parked
from hub.engine.run.state import StepAt
from hub.sdk.errors import RecipeError

STATUSES = ("succeeded", "failed", "filtered")


def run(ex: Execution, at: StepAt, step: dict[str, Any]) -> Outcome:
    status = step.get("status") or "succeeded"
    if status not in STATUSES:
        path = f"{at.path}.status"
        raise RecipeError(f"{path}: must be one of {', '.join(STATUSES)}, not {status!r}", path=path)
    message = templating.render_value(step.get("message") or "", at.context, f"{at.path}.message")
    output = {"status": status, "message": message}
    error = {"message": str(message) or "stopped", "code": "stopped", "step": at.step_id}
    params = ex.lease.release_params(status, error=error if status == "failed" else None)
    now = utcnow()

    def stop(session: Any) -> None:
        ex.lease.renew(session)
        ex.state.write_step(session, at, status="succeeded", output=output, started_at=now, finished_at=now)
        ex.lease.release_in(session, params)

    ex.db.write(stop)
    ex.lease.released_as(status)
    return Parked(status)


def resume(ex: Execution, at: StepAt, step: dict[str, Any], status: str) -> Outcome:
    return ex.stay_parked(at, status)
