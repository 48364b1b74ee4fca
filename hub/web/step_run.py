"""Run one saved step for real while building: through the engine's test run, never the connector.

The step is performed as a run performs it (its connection's secrets and limits, the attempt row and
idempotency key, retries per its policy, redaction); the run is a test run on the runs page. The
editor shows the step's stored (redacted) output or error; a step still retrying is polled here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import g, jsonify, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from hub import jsonutil
from hub.current import runtime
from hub.db.models import Run, StepRun
from hub.engine.control import FINAL, NOT_ALONE
from hub.presentation import recipe_detail
from hub.recipe_store import get_recipe
from hub.recipe_tree import step_type, walk_steps
from hub.sdk.errors import HubError
from hub.services import recipes as service
from hub.web import web
from hub.web.auth import page

TOP_LEVEL = re.compile(r"^\$\.steps\[(\d+)\]$")


@dataclass(frozen=True)
class StepRunResult:
    """What the editor shows under "Run this step for real": the outcome, or where to watch it."""

    ok: bool
    summary: str
    detail: str = ""
    run_url: str = ""
    poll_url: str = ""  # set while the run has not ended


def refusal(step: dict[str, Any], path: str, recipe_id: int | None) -> str | None:
    """Why this step cannot be run for real on its own from the editor, or None."""
    if recipe_id is None:
        return _("Save the recipe first: a real test runs the saved step.")
    if path.startswith("$.on_failure"):
        return _("A failure step runs only when a run fails: test it with the sample (dry).")
    if not TOP_LEVEL.match(path):
        return _("Only a top-level step runs for real on its own: run the block that holds this step.")
    if any(step_type(inner) in NOT_ALONE for inner in walk_steps([step])):
        return _(
            "A delay or a wait for an event does not run for real on its own: test it with the sample (dry)."
        )
    return None


def run_for_real(
    recipe_id: int | None, step: dict[str, Any], path: str, event: Any, outputs: dict[str, Any]
) -> StepRunResult:
    """Run `step` (as the editor holds it, which must be as saved) for real with the sample."""
    problem = refusal(step, path, recipe_id)
    if problem is not None or recipe_id is None:
        return StepRunResult(False, problem or "")
    rt = runtime()
    found = TOP_LEVEL.match(path)
    index = int(found.group(1)) if found else -1
    with rt.db.transaction() as db:
        saved = (recipe_detail(db, rt, get_recipe(db, recipe_id))["document"].get("steps") or [])[index:]
    if not saved or saved[0] != step:
        return StepRunResult(False, _("Save the recipe first: this step differs from the saved one."))
    sample = event if isinstance(event, dict) else {}
    try:
        run_id = service.run_step_test(rt, recipe_id, str(step["id"]), sample, outputs, actor=g.actor)
    except HubError as exc:
        return StepRunResult(False, _("The step could not be run:"), exc.message)
    return outcome(recipe_id, run_id)


def outcome(recipe_id: int, run_id: int) -> StepRunResult:
    """The test run's step as stored (redacted): its output, its error, or that it goes on."""
    with runtime().db.transaction() as db:
        run = db.get(Run, run_id)
        if run is None or run.recipe_id != recipe_id or not run.from_step:
            return StepRunResult(False, _("This test run no longer exists."))
        row = db.scalar(
            select(StepRun).where(
                StepRun.run_id == run_id, StepRun.phase == "main", StepRun.path == run.from_step
            )
        )
        status, final = run.status, run.status in FINAL
        step_status = row.status if row else "pending"
        output, error = (row.output, row.error) if row else (None, None)
    run_url = url_for("web.run_page", run_id=run_id)
    if step_status == "succeeded":
        return StepRunResult(
            True, _("The step ran for real and gave:"), jsonutil.dumps(output, indent=2), run_url
        )
    if step_status == "skipped":
        return StepRunResult(
            True, _("With this sample the step is skipped: its condition is false."), "", run_url
        )
    if step_status == "failed" or (final and error):
        message = (error or {}).get("message") or status
        return StepRunResult(False, _("The step failed:"), str(message), run_url)
    if final:
        return StepRunResult(True, _("The test run ended: %(status)s", status=status), "", run_url)
    poll = url_for("web.step_run_state", recipe_id=recipe_id, run_id=run_id)
    detail = str((error or {}).get("message") or "")
    return StepRunResult(
        True,
        _("The step goes on (%(status)s); this updates when it ends.", status=step_status),
        detail,
        run_url,
        poll,
    )


@web.get("/recipes/<int:recipe_id>/step-runs/<int:run_id>")
@page("editor")
def step_run_state(recipe_id: int, run_id: int) -> Any:
    """The editor's script asks here until a real step test ends."""
    result = outcome(recipe_id, run_id)
    return jsonify(ok=result.ok, summary=result.summary, detail=result.detail, ended=not result.poll_url)
