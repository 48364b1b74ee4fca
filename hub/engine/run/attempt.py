"""One attempt of an action: its row written before the call, its end written with what follows.

An attempt row is written `started` before the call. One still `started` when the run is taken up
again means the worker died mid-call: its outcome is unknown, so repeat-safe actions run again with
the same idempotency key and the others are held for a person. Vendor waits (Retry-After)
reschedule the run, never sleep.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hub.db.errors import is_transient
from hub.db.models import Connection, utcnow
from hub.engine import store
from hub.engine.contexts import connector_context
from hub.engine.retry import RetryPolicy
from hub.engine.run.execution import Execution
from hub.engine.run.outcomes import Done, Failed, Outcome, Parked, error_info
from hub.engine.run.state import StepAt
from hub.redaction import redact
from hub.sdk.auth import OAuth2
from hub.sdk.errors import AuthError, HubError, PermanentError, RetryableError
from hub.sdk.oauth import ensure_token

log = logging.getLogger("hub.runner")


@dataclass(frozen=True)
class Call:
    """What an attempt calls: the connector's action, on which connection, with which input."""

    connector: Any
    action: Any
    row: Connection | None
    fields: dict[str, Any]
    inputs: dict[str, Any]
    stored_input: Any  # `inputs` redacted, as the step row keeps them


def unknown_outcomes(ex: Execution, at: StepAt) -> list[dict[str, Any]]:
    """The step's attempts still `started` (the worker stopped during the call), as the updates
    that end them `unknown`; written with what is decided about them, in the same unit of work."""
    state = ex.state.step(at)
    if state is None:
        return []
    with ex.db.read() as session:
        started = store.started_attempts(session, state.id)
    note = {"message": "the worker stopped during this attempt; outcome unknown"}
    return [{"b_id": i, "status": "unknown", "error": note, "finished_at": utcnow()} for i in started]


def hold(ex: Execution, at: StepAt, why: str, attempts: Sequence[dict[str, Any]]) -> Outcome:
    """Hold the run for a person, ending `attempts` in the same write."""
    error = {"message": f"held for a decision: {why}", "code": "outcome_unknown", "step": at.step_id}
    ex.park(at, "held", run_error=error, attempts=attempts, status="held", error=error)
    return Parked("held")


def attempt(ex: Execution, at: StepAt, step: dict[str, Any], call: Call) -> Outcome:
    """Write the attempt row, call the action (refreshing an OAuth2 token once), write the end."""
    step_id = at.step_id
    key = f"{ex.run_id}:{at.run_path}"

    def start(session: Any) -> tuple[int, int]:
        ex.lease.renew(session)
        known = ex.state.step(at)
        number = (known.attempts if known else 0) + 1
        state = ex.state.write_step(
            session,
            at,
            attempts=number,
            status="running",
            input=call.stored_input,
            started_at=(known.started_at if known else None) or utcnow(),
        )
        return store.insert_attempt(session, state.id, number, key), number

    attempt_id, number = ex.db.write(start)
    connector, action = call.connector, call.action
    ctx = connector_context(
        ex.rt,
        connector,
        call.row.id if call.row else None,
        call.fields,
        idempotency_key=key,
        run_id=str(ex.run_id),
        step_id=step_id,
        recipe_id=ex.state.run.recipe_id,
        hub=ex.rt,
        redact_values=ex.state.secrets,
    )
    started = time.monotonic()
    outcome_label = "succeeded"
    try:
        try:
            output = action.perform(ctx, call.inputs)
        except AuthError:
            if (
                not isinstance(connector.auth, OAuth2)
                or not connector.auth.can_refresh(ctx.connection)
                or ctx.secret_store is None
            ):
                raise
            ensure_token(ctx, force=True)
            output = action.perform(ctx, call.inputs)
    except HubError as exc:
        outcome_label = "failed"
        return _failed(ex, at, step, attempt_id, number, action, exc)
    except Exception as exc:
        outcome_label = "failed"
        if is_transient(exc):  # the hub's own database (token cache, secret store), not the vendor
            raise
        log.exception("event=action_crashed run=%s step=%s", ex.run_id, step_id)
        return _failed(ex, at, step, attempt_id, number, action, PermanentError(str(exc)))
    finally:
        elapsed = time.monotonic() - started
        metrics = ex.rt.metrics
        metrics.child(metrics.step_seconds, connector.id, action.key, outcome_label).observe(elapsed)
    stored_output = redact(output if output is not None else {}, ctx.secrets())

    finishing = ex.state.ends_run(at)

    def succeed(session: Any) -> None:
        if not finishing:  # else the release at the end checks the lease (and undoes all on a loss)
            ex.lease.renew(session)
        done = {"status": "succeeded", "finished_at": utcnow(), "duration_ms": round(elapsed * 1000, 2)}
        store.end_attempts(session, [{"b_id": attempt_id, **done}])
        ex.state.write_step(
            session, at, status="succeeded", output=stored_output, error=None, finished_at=utcnow()
        )
        if finishing:
            ex.lease.release_in(session, ex.lease.release_params("succeeded"))

    ex.db.write(succeed)
    if finishing:
        ex.lease.released_as("succeeded")
    live = output if output is not None else {}
    ex.state.live[(at.phase, at.run_path)] = live
    return Done(live)


def _failed(
    ex: Execution,
    at: StepAt,
    step: dict[str, Any],
    attempt_id: int,
    number: int,
    action: Any,
    exc: HubError,
) -> Outcome:
    error = redact(error_info(exc, at.step_id), ex.state.secrets)
    unknown = isinstance(exc, RetryableError) and exc.outcome_unknown
    policy = RetryPolicy.from_step(step)
    # The attempt's end is written with what follows from it, in one unit of work: an attempt
    # ended `unknown` without its hold would let a repeat of an unsafe action through.
    ended = {
        "b_id": attempt_id,
        "status": "unknown" if unknown else "failed",
        "error": error,
        "finished_at": utcnow(),
    }
    if unknown and not action.repeat_safe:
        return hold(ex, at, error["message"], [ended])
    if isinstance(exc, RetryableError) and number < policy.max_attempts:
        delay = policy.delay(number, exc.retry_after)
        wake = utcnow() + timedelta(seconds=delay)
        ex.park(at, "queued", wake_at=wake, attempts=[ended], status="retrying", error=error)
        return Parked("queued")
    ex.save_step(at, attempts=[ended], status="failed", error=error, finished_at=utcnow())
    return Failed(error)
