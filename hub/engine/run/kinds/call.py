"""`recipe.call` steps: start a run of another recipe and, with `wait`, park until it ends.

The child run is created in the same unit of work as the step's row and, when waiting, the
caller's release as `waiting`; so the child cannot end before the caller parked, and a crash leaves
either nothing or both. A call taken up again finds its child by (run, path) instead of starting a
second one. The child's end settles this step and queues the caller (`hub.engine.calls`).
"""

from __future__ import annotations

from typing import Any

from hub import templating
from hub.db.models import utcnow
from hub.engine import calls
from hub.engine.run.execution import Execution
from hub.engine.run.lease import FINAL
from hub.engine.run.outcomes import Done, Failed, Outcome, Parked
from hub.engine.run.state import StepAt
from hub.recipe_calls import CALL_ACTION, CALLER_CONNECTOR
from hub.recipes import validate_against
from hub.redaction import redact
from hub.sdk.errors import PermanentError


def run(ex: Execution, at: StepAt, step: dict[str, Any]) -> Outcome:
    connector = ex.rt.registry.get(CALLER_CONNECTOR)
    action = connector.action(CALL_ACTION) if connector else None
    if action is None:
        raise PermanentError(f"{at.path}: {CALLER_CONNECTOR}.{CALL_ACTION} is not installed")
    inputs = templating.render_value(step.get("input") or {}, at.context, f"{at.path}.input")
    validate_against(action.input_schema, inputs, f"{at.path}.input", allow_templates=False)
    stored_input = redact(inputs, ex.state.secrets)
    if ex.state.run.dry_run:
        ex.save_step(at, status="succeeded", input=stored_input, output=action.sample_output)
        return Done(action.sample_output)
    return _call(ex, at, inputs, stored_input)


def _call(ex: Execution, at: StepAt, inputs: dict[str, Any], stored_input: Any) -> Outcome:
    """Start the child (or find the one started before) and settle, answer or park in one write."""
    path, wait = at.run_path, inputs.get("wait", True)
    started: list[int] = []
    outcome: Outcome
    with ex.db.transaction() as session:  # the ORM adds the child's rows (as wait_for adds its Wait)
        ex.lease.renew(session)
        child = calls.child_of(session, ex.run_id, path)
        if child is None:
            child = calls.start_child(session, ex.run_id, path, inputs, at.path)
            started.append(child.id)
        now = utcnow()
        begun = {"input": stored_input, "started_at": now, "attempts": 1}
        if not wait:
            output = {"run_id": child.id}
            ex.state.write_step(session, at, status="succeeded", output=output, finished_at=now, **begun)
            outcome = Done(output)
        elif child.status in FINAL:
            outcome = _settle(ex, session, at, child, begun)
        else:
            ex.state.write_step(session, at, status="waiting", **begun)
            if not at.nested:  # a nested call leaves the run held: its park joins the others'
                ex.lease.release_in(session, ex.lease.release_params("waiting"))
            outcome = Parked("waiting")
    ex.rt.dispatch(started)
    return _parked(ex, at, outcome)


def _parked(ex: Execution, at: StepAt, outcome: Outcome) -> Outcome:
    """A top-level park was released in its write; a nested one is noted for the joined release,
    which sees the step settled if the child ends first (the child's end locks the caller's row)."""
    if not isinstance(outcome, Parked):
        return outcome
    if at.nested:
        return ex.stay_parked(at, "waiting", on_event=True)
    ex.lease.released_as("waiting")
    return outcome


def _settle(ex: Execution, session: Any, at: StepAt, child: Any, values: dict[str, Any]) -> Outcome:
    """Write the ended child's output (or failure) as this step's."""
    status, value = calls.outcome_of(child)
    if status == "succeeded":
        ex.state.write_step(session, at, status="succeeded", output=value, finished_at=utcnow(), **values)
        return Done(value)
    error = {**value, "step": at.step_id}
    ex.state.write_step(session, at, status="failed", error=error, finished_at=utcnow(), **values)
    return Failed(error)


def resume(ex: Execution, at: StepAt, step: dict[str, Any], status: str) -> Outcome:
    """Taken up while waiting (the child's end normally settles the step first): look at the child."""
    if status != "waiting":
        return Parked(status)

    def look(session: Any) -> Outcome:
        ex.lease.renew(session)
        child = calls.child_of(session, ex.run_id, at.run_path)
        if child is None:
            error = {"message": "the called run is gone", "code": "call_failed", "step": at.step_id}
            ex.state.write_step(session, at, status="failed", error=error, finished_at=utcnow())
            return Failed(error)
        if child.status in FINAL:
            return _settle(ex, session, at, child, {})
        if not at.nested:
            ex.lease.release_in(session, ex.lease.release_params("waiting"))
        return Parked("waiting")

    with ex.db.transaction() as session:
        outcome = look(session)
    return _parked(ex, at, outcome)
