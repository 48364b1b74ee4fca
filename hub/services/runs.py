"""Run operations: replay (whole or from a step), cancel, resolve a held run."""

from __future__ import annotations

from typing import Any

from hub.audit import audit
from hub.engine import control
from hub.presentation import RESOLUTIONS
from hub.runtime import Runtime
from hub.services import InvalidInput


def replay_run(rt: Runtime, run_id: int, *, from_step: str | None, actor: str) -> int:
    """Start a new run of the same event (from `from_step` on, reusing earlier outputs); answers its id."""
    with rt.db.transaction() as session:
        new_id = control.replay(session, run_id, from_step=from_step).id
        details = {"new_run": new_id, "from_step": from_step}
        audit(session, actor, "run.replay", "run", str(run_id), details)
    rt.dispatch([new_id])
    return new_id


def cancel_run(rt: Runtime, run_id: int, *, actor: str) -> None:
    with rt.db.transaction() as session:
        control.cancel(session, run_id)
        audit(session, actor, "run.cancel", "run", str(run_id))


def resolve_run(rt: Runtime, run_id: int, action: Any, output: Any = None, *, actor: str) -> None:
    """Decide a held run: retry the step, mark it done (with `output`), or fail the run."""
    if action not in RESOLUTIONS:
        raise InvalidInput(f"$.action: must be one of {', '.join(RESOLUTIONS)}", path="$.action")
    if output is not None and not isinstance(output, dict):
        raise InvalidInput("$.output: must be an object", path="$.output")
    with rt.db.transaction() as session:
        control.resolve(session, run_id, action, output)
        audit(session, actor, "run.resolve", "run", str(run_id), {"action": action})
    rt.dispatch([run_id])
