"""Walks a list of steps in order: skips what is done, runs the rest by kind, stops at a park or a
failure. A step's outcome lands in the context (`steps.<id>`) before the next step renders.

A step kind is looked up in `kinds.KINDS`; a recipe or permanent error raised while a step runs is
written as that step's failure here, so every kind fails the same way.
"""

from __future__ import annotations

from typing import Any

from hub import templating
from hub.db.models import utcnow
from hub.engine.run.execution import Execution
from hub.engine.run.kinds import kind_of
from hub.engine.run.outcomes import Done, Failed, Outcome, Parked, Skipped, error_info
from hub.engine.run.state import StepAt
from hub.recipes import step_path
from hub.redaction import redact
from hub.sdk.errors import PermanentError, RecipeError


def walk(ex: Execution, phase: str, steps: list[dict[str, Any]]) -> Done | Parked | Failed:
    """Run `steps` of `phase` from where the run stands: `Done` once all ended (or failed with
    `continue_on_error`), else the park or failure that stopped the walk."""
    results = ex.state.context["steps"]
    for index, step in enumerate(steps):
        at = StepAt(phase, index, step["id"], step_path(phase, index))
        state = ex.state.step(at)
        status = state.status if state else "pending"
        if status in ("succeeded", "skipped"):
            results[at.step_id] = state.output if state else None
            continue
        if status == "failed":
            if step.get("continue_on_error"):
                results[at.step_id] = {"error": state.error if state else None}
                continue
            return Failed(state.error if state else {"message": "step failed", "step": at.step_id})
        try:
            outcome = _step(ex, at, step, status)
        except (RecipeError, PermanentError) as exc:
            error = redact(error_info(exc, at.step_id), ex.state.secrets)
            ex.save_step(at, status="failed", error=error, finished_at=utcnow())
            outcome = Failed(error)
        if isinstance(outcome, Parked):
            return outcome
        if isinstance(outcome, Failed):
            if step.get("continue_on_error"):
                results[at.step_id] = {"error": outcome.error}
                continue
            return outcome
        results[at.step_id] = outcome.output if isinstance(outcome, Done) else None
    return Done()


def _step(ex: Execution, at: StepAt, step: dict[str, Any], status: str) -> Outcome:
    kind = kind_of(step)
    if status in ("waiting", "held"):
        return kind.resume(ex, at, step, status)
    if step.get("when") and not templating.evaluate_condition(
        step["when"], ex.state.context, f"{at.path}.when"
    ):
        ex.save_step(at, status="skipped", finished_at=utcnow())
        return Skipped()
    return kind.run(ex, at, step)
