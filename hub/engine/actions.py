"""Action steps: render, validate, respect the connection's limits, record every attempt, decide.

An attempt row is written before the call. One still `started` when the run is taken up again
means the worker died mid-call: repeat-safe actions run again with the same idempotency key,
the others are held for a person. Vendor waits (Retry-After) reschedule the run, never sleep.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from hub import templating
from hub.db.errors import is_transient
from hub.db.models import Connection, utcnow
from hub.engine import store
from hub.engine.contexts import connector_context
from hub.engine.retry import RetryPolicy
from hub.engine.statements import Record
from hub.recipes import validate_against
from hub.redaction import redact
from hub.sdk.auth import OAuth2
from hub.sdk.errors import AuthError, HubError, PermanentError, RetryableError
from hub.sdk.oauth import ensure_token

log = logging.getLogger("hub.runner")
PARKED = "parked"


def error_info(exc: BaseException, step_id: str | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {"message": str(getattr(exc, "message", None) or exc) or type(exc).__name__}
    info["code"] = getattr(exc, "code", "internal_error")
    info["type"] = type(exc).__name__
    for name in ("vendor_code", "status", "path"):
        value = getattr(exc, name, None)
        if value is not None:
            info[name] = value
    if step_id:
        info["step"] = step_id
    return info


class ActionSteps:
    """The action-step half of Runner (a mixin): leases, step state and the context live in Runner."""

    rt: Any
    db: Any
    run: Any
    run_id: int
    states: dict[tuple[str, str], Record]
    context: dict[str, Any]
    secrets: list[str]
    # Runner's, used to end or park the run in the step's own write
    ends_run: Any
    _park: Any
    release_params: Any
    _release_in: Any
    _released: Any
    _renew: Any
    _state: Any
    _save_step: Any
    _connection: Any

    def _action(self, phase: str, index: int, step: dict[str, Any], path: str) -> Any:
        step_id = step["id"]
        connector = self.rt.registry.get(step["connector"])
        action = connector.action(step["action"]) if connector else None
        if connector is None or action is None:
            raise PermanentError(f"{path}: {step['connector']}.{step.get('action')} is not installed")
        row, fields = (None, {})
        if step.get("connection"):
            row, fields = self._connection(step["connection"], f"{path}.connection")
        secrets = [str(v) for k, v in fields.items() if k in connector.secret_fields() and v]
        self.secrets.extend(secrets)
        state = self.states.get((phase, step_id))
        unknown = self._unknown_outcomes(state) if state is not None else []
        if unknown and not action.repeat_safe:
            return self._hold(
                phase, index, step_id, "the last attempt ended with an unknown outcome", unknown
            )
        if unknown:  # repeated below, with the same idempotency key
            self.db.write(lambda session: store.end_attempts(session, unknown))
        inputs = templating.render_value(step.get("input") or {}, self.context, f"{path}.input")
        validate_against(action.input_schema, inputs, f"{path}.input", allow_templates=False)
        stored_input = redact(inputs, self.secrets)
        if self.run.dry_run:
            output = action.sample_output
            self._save_step(phase, index, step_id, status="succeeded", input=stored_input, output=output)
            self.context["steps"][step_id] = output
            return None
        if row is not None:
            wait = self.rt.limiter.try_acquire(row.id, row.concurrency_limit, row.rate_limit)
            if wait > 0:
                wake = utcnow() + timedelta(seconds=wait)
                self._park(
                    phase, index, step_id, "queued", wake_at=wake, input=stored_input, status="pending"
                )
                return PARKED
        try:
            return self._attempt(
                phase, index, step, path, connector, action, row, fields, stored_input, inputs
            )
        finally:
            if row is not None:
                self.rt.limiter.release(row.id)

    def _unknown_outcomes(self, state: Record) -> list[dict[str, Any]]:
        """The step's attempts still `started` (the worker stopped during the call), as the updates
        that end them `unknown`; written with what is decided about them, in the same unit of work."""
        with self.db.read() as session:
            started = store.started_attempts(session, state.id)
        note = {"message": "the worker stopped during this attempt; outcome unknown"}
        return [{"b_id": i, "status": "unknown", "error": note, "finished_at": utcnow()} for i in started]

    def _hold(
        self, phase: str, index: int, step_id: str, why: str, attempts: Sequence[dict[str, Any]]
    ) -> Any:
        error = {"message": f"held for a decision: {why}", "code": "outcome_unknown", "step": step_id}
        self._park(
            phase, index, step_id, "held", run_error=error, attempts=attempts, status="held", error=error
        )
        return PARKED

    def _attempt(
        self,
        phase: str,
        index: int,
        step: dict[str, Any],
        path: str,
        connector: Any,
        action: Any,
        row: Connection | None,
        fields: dict[str, Any],
        stored_input: Any,
        inputs: dict[str, Any],
    ) -> Any:
        step_id = step["id"]
        key = f"{self.run_id}:{step_id}"

        def start(session: Any) -> tuple[int, int]:
            self._renew(session)
            known = self.states.get((phase, step_id))
            number = (known.attempts if known else 0) + 1
            state = self._state(
                session,
                phase,
                index,
                step_id,
                attempts=number,
                status="running",
                input=stored_input,
                started_at=(known.started_at if known else None) or utcnow(),
            )
            return store.insert_attempt(session, state.id, number, key), number

        attempt_id, number = self.db.write(start)
        ctx = connector_context(
            self.rt,
            connector,
            row.id if row else None,
            fields,
            idempotency_key=key,
            run_id=str(self.run_id),
            step_id=step_id,
        )
        started = time.monotonic()
        outcome_label = "succeeded"
        try:
            try:
                output = action.perform(ctx, inputs)
            except AuthError:
                if (
                    not isinstance(connector.auth, OAuth2)
                    or not connector.auth.can_refresh(ctx.connection)
                    or ctx.secret_store is None
                ):
                    raise
                ensure_token(ctx, force=True)
                output = action.perform(ctx, inputs)
        except HubError as exc:
            outcome_label = "failed"
            return self._attempt_failed(phase, index, step, attempt_id, number, action, exc)
        except Exception as exc:
            outcome_label = "failed"
            if is_transient(exc):  # the hub's own database (token cache, secret store), not the vendor
                raise
            log.exception("event=action_crashed run=%s step=%s", self.run_id, step_id)
            return self._attempt_failed(
                phase, index, step, attempt_id, number, action, PermanentError(str(exc))
            )
        finally:
            elapsed = time.monotonic() - started
            self.rt.metrics.step_seconds.labels(connector.id, action.key, outcome_label).observe(elapsed)
        stored_output = redact(output if output is not None else {}, self.secrets + ctx.secrets())

        finishing = self.ends_run(phase, index)

        def succeed(session: Any) -> None:
            self._renew(session)
            done = {"status": "succeeded", "finished_at": utcnow(), "duration_ms": round(elapsed * 1000, 2)}
            store.end_attempts(session, [{"b_id": attempt_id, **done}])
            self._state(
                session,
                phase,
                index,
                step_id,
                status="succeeded",
                output=stored_output,
                error=None,
                finished_at=utcnow(),
            )
            if finishing:
                self._release_in(session, self.release_params("succeeded"))

        self.db.write(succeed)
        if finishing:
            self._released("succeeded")
        self.context["steps"][step_id] = stored_output
        return None

    def _attempt_failed(
        self,
        phase: str,
        index: int,
        step: dict[str, Any],
        attempt_id: int,
        number: int,
        action: Any,
        exc: HubError,
    ) -> Any:
        step_id = step["id"]
        error = redact(error_info(exc, step_id), self.secrets)
        unknown = isinstance(exc, RetryableError) and exc.outcome_unknown
        policy = RetryPolicy.from_step(step)
        # The attempt's end is written with what follows from it, in one unit of work: an attempt
        # ended `unknown` without its hold would let a repeat of an unsafe action through.
        attempt = {
            "b_id": attempt_id,
            "status": "unknown" if unknown else "failed",
            "error": error,
            "finished_at": utcnow(),
        }
        if unknown and not action.repeat_safe:
            return self._hold(phase, index, step_id, error["message"], [attempt])
        if isinstance(exc, RetryableError) and number < policy.max_attempts:
            delay = policy.delay(number, exc.retry_after)
            wake = utcnow() + timedelta(seconds=delay)
            self._park(
                phase,
                index,
                step_id,
                "queued",
                wake_at=wake,
                attempts=[attempt],
                status="retrying",
                error=error,
            )
            return PARKED
        self._save_step(
            phase, index, step_id, attempts=[attempt], status="failed", error=error, finished_at=utcnow()
        )
        return error
