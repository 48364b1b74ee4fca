"""`set` steps: render `values`; the rendered object is the step's output."""

from __future__ import annotations

from typing import Any

from hub import templating
from hub.db.models import utcnow
from hub.engine.run.execution import Execution
from hub.engine.run.outcomes import Done, Outcome
from hub.engine.run.state import StepAt
from hub.redaction import redact


def run(ex: Execution, at: StepAt, step: dict[str, Any]) -> Outcome:
    values = templating.render_value(step.get("values") or {}, at.context, f"{at.path}.values")
    now = utcnow()
    stored = redact(values, ex.state.secrets)
    ex.save_step(at, status="succeeded", output=stored, started_at=now, finished_at=now)
    ex.state.live[(at.phase, at.run_path)] = values
    return Done(values)


def resume(ex: Execution, at: StepAt, step: dict[str, Any], status: str) -> Outcome:
    return ex.stay_parked(at, status)
