"""What the flow steps (branch, parallel, for_each) share: the row written `running` with what was
decided before their inner steps run (so a resumed run takes the same path), their end, and how
their branches or items run (`branches`).

An execution focused on one branch (a spread branch's task, see `spread`) passes through the flow
steps enclosing it without writing their rows: their end is the lease holder's to write."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hub.db.models import utcnow
from hub.engine.run.execution import Execution
from hub.engine.run.fanout import Task, fan_out
from hub.engine.run.outcomes import Done, Failed, Outcome, Parked
from hub.engine.run.spread import spread
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


def encloses_focus(ex: Execution, at: StepAt) -> bool:
    """Whether `at` encloses the one branch this execution runs."""
    return ex.focus.startswith(f"{at.run_path}.")


def branches(
    ex: Execution,
    at: StepAt,
    tasks: Sequence[Task],
    width: int,
    stop: Callable[[Outcome], bool],
    keep_going: bool,
) -> list[Outcome | None]:
    """Run the step's branches or items: only the focused one in a branch's own task; spread as
    tasks of their own under the Celery executor (more than one at once); else on threads."""
    if encloses_focus(ex, at):
        label = int(ex.focus[len(at.run_path) + 1 :].split(".", 1)[0])
        outcomes: list[Outcome | None] = [None] * len(tasks)
        outcomes[label] = tasks[label]()
        return outcomes
    if ex.spreads and width > 1 and len(tasks) > 1:
        return spread(ex, at, tasks, width, keep_going)
    return fan_out(tasks, width, stop, ex.threads)


def end(ex: Execution, at: StepAt, output: dict[str, Any]) -> Done:
    if encloses_focus(ex, at):
        return Done(output)
    ex.save_step(
        at, status="succeeded", output=redact(output, ex.state.secrets), error=None, finished_at=utcnow()
    )
    ex.state.live[(at.phase, at.run_path)] = output
    return Done(output)


def fail(ex: Execution, at: StepAt, error: dict[str, Any]) -> Failed:
    if encloses_focus(ex, at):
        return Failed(error)
    ex.save_step(at, status="failed", error=error, finished_at=utcnow())
    return Failed(error)


def stopped(ex: Execution, outcomes: list[Outcome | None]) -> Parked | None:
    """The park that stops the flow step: the run ended (a `stop`) or an inner step parked."""
    if ex.lease.released:
        return Parked("ended")
    return next((o for o in outcomes if isinstance(o, Parked)), None)


def resume(ex: Execution, at: StepAt, step: dict[str, Any], status: str) -> Outcome:
    return ex.stay_parked(at, status)
