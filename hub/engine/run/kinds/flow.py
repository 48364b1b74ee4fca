"""What the flow steps (branch, parallel, for_each) share: the row written `running` with what was
decided before their inner steps run (so a resumed run takes the same path), and their end."""

from __future__ import annotations

from typing import Any

from hub.db.models import utcnow
from hub.engine.run.execution import Execution
from hub.engine.run.outcomes import Done, Failed, Outcome, Parked
from hub.engine.run.state import StepAt
from hub.redaction import redact


def decided(ex: Execution, at: StepAt) -> dict[str, Any] | None:
    """What the step decided when it started (its stored input), if it already started."""
    known = ex.state.step(at)
    if known is None or known.status != "running":
        return None
    return dict(known.input or {})


def start(ex: Execution, at: StepAt, decision: dict[str, Any]) -> None:
    ex.save_step(at, status="running", input=redact(decision, ex.state.secrets), started_at=utcnow())


def end(ex: Execution, at: StepAt, output: dict[str, Any]) -> Done:
    ex.save_step(
        at, status="succeeded", output=redact(output, ex.state.secrets), error=None, finished_at=utcnow()
    )
    ex.state.live[(at.phase, at.run_path)] = output
    return Done(output)


def fail(ex: Execution, at: StepAt, error: dict[str, Any]) -> Failed:
    ex.save_step(at, status="failed", error=error, finished_at=utcnow())
    return Failed(error)


def stopped(ex: Execution, outcomes: list[Outcome | None]) -> Parked | None:
    """The park that stops the flow step: the run ended (a `stop`) or an inner step parked."""
    if ex.lease.released:
        return Parked("ended")
    return next((o for o in outcomes if isinstance(o, Parked)), None)


def resume(ex: Execution, at: StepAt, step: dict[str, Any], status: str) -> Outcome:
    return ex.stay_parked(at, status)
