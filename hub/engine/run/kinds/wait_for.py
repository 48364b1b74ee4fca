"""`wait_for` steps park the run on a matching event, or take one that came in before it parked.

The wait row and the run's release are one write, so an event arriving in between finds a parked
run; intake (or the wait poller) ends the wait and writes the step's output.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hub import templating
from hub.db.models import Wait, utcnow
from hub.engine import intake
from hub.engine.run.execution import Execution
from hub.engine.run.outcomes import Done, Outcome, Parked
from hub.engine.run.state import StepAt
from hub.recipes import validate_against
from hub.sdk.connector import PollingTrigger
from hub.sdk.errors import PermanentError, RecipeError


def run(ex: Execution, at: StepAt, step: dict[str, Any]) -> Outcome:
    path = at.path
    match = templating.render_value(step.get("match") or {}, at.context, f"{path}.match")
    if ex.state.run.dry_run:
        ex.save_step(at, status="succeeded", input={"match": match}, output={})
        return Done({})
    connection_id = None
    if step.get("connection"):
        connection_id = ex.connection(step["connection"], f"{path}.connection")[0].id
    connector = ex.rt.registry.get(step["connector"])
    trigger = connector.trigger(step["trigger"]) if connector else None
    polled = isinstance(trigger, PollingTrigger)
    config = None
    if isinstance(trigger, PollingTrigger):
        config = templating.render_value(step.get("config") or {}, at.context, f"{path}.config")
        validate_against(trigger.config_schema, config, f"{path}.config", allow_templates=False)
        try:
            trigger.check_config(config)
        except PermanentError as exc:
            raise RecipeError(f"{path}.config: {exc.message}", path=f"{path}.config") from exc
    timeout = step.get("timeout_s")
    release = ex.lease.release_params("waiting")
    with ex.db.transaction() as session:
        intake.serialize_waits(session, step["connector"], step["trigger"])  # before the run row
        ex.lease.renew(session)
        early = intake.take_kept_event(
            session, step["connector"], step["trigger"], connection_id, match, ex.run_id, at.run_path
        )
        now = utcnow()
        if early is not None:
            ex.state.write_step(
                session,
                at,
                status="succeeded",
                input={"match": match},
                output=early,
                started_at=now,
                finished_at=now,
            )
        else:
            waiting = {"status": "waiting", "input": {"match": match}, "started_at": now}
            ex.state.write_step(session, at, **waiting)
            session.add(
                Wait(
                    run_id=ex.run_id,
                    step_id=at.step_id,
                    path=at.run_path,
                    recipe_id=ex.state.run.recipe_id,
                    connector=step["connector"],
                    trigger=step["trigger"],
                    connection_id=connection_id,
                    match=match,
                    expires_at=now + timedelta(seconds=float(timeout)) if timeout else None,
                    config=config,
                    next_poll_at=now if polled else None,
                )
            )
            if not at.nested:
                ex.lease.release_in(session, release)
    if early is not None:
        return Done(early)
    if at.nested:
        return ex.stay_parked(at, "waiting", on_event=True)
    ex.lease.released_as("waiting")
    return Parked("waiting")


def resume(ex: Execution, at: StepAt, step: dict[str, Any], status: str) -> Outcome:
    """Taken up while still waiting: the wait's end (intake, wait poller, sweeper) finishes the step."""
    return ex.stay_parked(at, status, on_event=status == "waiting")
