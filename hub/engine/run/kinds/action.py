"""`action` steps: render and check the input, respect the connection's limits, then attempt.

The unknown-outcome rule is applied first: a step whose last attempt never ended is repeated only
when the action is repeat-safe. A busy connection requeues the run instead of waiting in a worker.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hub import templating
from hub.db.models import Connection, utcnow
from hub.engine import store
from hub.engine.run.attempt import Call, attempt, hold, unknown_outcomes
from hub.engine.run.execution import Execution
from hub.engine.run.outcomes import Done, Outcome, Parked
from hub.engine.run.state import StepAt
from hub.recipes import validate_against
from hub.redaction import redact
from hub.sdk.errors import PermanentError


def run(ex: Execution, at: StepAt, step: dict[str, Any]) -> Outcome:
    path = at.path
    connector = ex.rt.registry.get(step["connector"])
    action = connector.action(step["action"]) if connector else None
    if connector is None or action is None:
        raise PermanentError(f"{path}: {step['connector']}.{step.get('action')} is not installed")
    row: Connection | None = None
    fields: dict[str, Any] = {}
    if step.get("connection"):
        row, fields = ex.connection(step["connection"], f"{path}.connection")
    secrets = [str(v) for k, v in fields.items() if k in connector.secret_fields() and v]
    ex.state.secrets.extend(secrets)
    unknown = unknown_outcomes(ex, at)
    if unknown and not action.repeat_safe:
        return hold(ex, at, "the last attempt ended with an unknown outcome", unknown)
    if unknown:  # repeated below, with the same idempotency key
        ex.db.write(lambda session: store.end_attempts(session, unknown))
    context = {**at.context, "secrets": ex.state.secrets_view}
    inputs = templating.render_value(step.get("input") or {}, context, f"{path}.input")
    validate_against(action.input_schema, inputs, f"{path}.input", allow_templates=False)
    stored_input = redact(inputs, ex.state.secrets)
    if ex.state.run.dry_run:
        output = action.sample_output
        ex.save_step(at, status="succeeded", input=stored_input, output=output, finished_at=utcnow())
        return Done(output)
    if row is not None:
        wait = ex.rt.limiter.try_acquire(row.id, row.concurrency_limit, row.rate_limit)
        if wait > 0:
            wake = utcnow() + timedelta(seconds=wait)
            ex.park(at, "queued", wake_at=wake, input=stored_input, status="pending")
            return Parked("queued")
    try:
        return attempt(ex, at, step, Call(connector, action, row, fields, inputs, stored_input))
    finally:
        if row is not None:
            ex.rt.limiter.release(row.id)


def resume(ex: Execution, at: StepAt, step: dict[str, Any], status: str) -> Outcome:
    """Taken up while held: a person decides (resolving the hold); nothing runs meanwhile."""
    return ex.stay_parked(at, status)
