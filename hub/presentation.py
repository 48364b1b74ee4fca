"""How recipes and runs look to people, in API answers and on the web pages alike (secrets redacted)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.db.models import Event, Recipe, Run, StepAttempt, TriggerState, User
from hub.recipe_store import current_document, hook_urls
from hub.recipes import without_secrets
from hub.redaction import redact, redact_headers
from hub.runtime import Runtime

STATUSES = ("queued", "running", "waiting", "held", "succeeded", "failed", "filtered", "cancelled")
RESOLUTIONS = ("retry", "mark_done", "fail")  # what a person may do with a held run


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def user_view(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "disabled": user.disabled,
        "created_at": user.created_at.isoformat(),
    }


def trigger_state_view(state: TriggerState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {
        "cursor": state.cursor,
        "primed": state.primed,
        "backfill_from": _iso(state.backfill_from),
        "last_poll_at": _iso(state.last_poll_at),
        "last_success_at": _iso(state.last_success_at),
        "last_error": state.last_error,
        "consecutive_failures": state.consecutive_failures,
        "next_poll_at": _iso(state.next_poll_at),
        "paused": state.paused,
        "paused_reason": state.paused_reason,
        "items_taken": state.items_taken,
    }


def recipe_summary(session: Session, rt: Runtime, recipe: Recipe) -> dict[str, Any]:
    document = current_document(session, recipe)
    last = session.execute(
        select(Run.status, Run.created_at).where(Run.recipe_id == recipe.id).order_by(Run.id.desc()).limit(1)
    ).first()
    counts = dict(
        session.execute(
            select(Run.status, func.count()).where(Run.recipe_id == recipe.id).group_by(Run.status)
        ).all()
    )
    finished = counts.get("succeeded", 0) + counts.get("failed", 0)
    return {
        "id": recipe.id,
        "name": recipe.name,
        "enabled": recipe.enabled,
        "version": recipe.current_version,
        "trigger": {k: document["trigger"].get(k) for k in ("connector", "trigger", "connection")},
        "last_run": {"status": last[0], "created_at": _iso(last[1])} if last else None,
        "run_counts": counts,
        "success_rate": round(counts.get("succeeded", 0) / finished, 4) if finished else None,
        "updated_at": _iso(recipe.updated_at),
        **hook_urls(session, rt, recipe),
    }


def recipe_detail(session: Session, rt: Runtime, recipe: Recipe) -> dict[str, Any]:
    state = session.scalar(select(TriggerState).where(TriggerState.recipe_id == recipe.id))
    return {
        **recipe_summary(session, rt, recipe),
        "document": without_secrets(current_document(session, recipe), rt.registry),
        "trigger_state": trigger_state_view(state),
        "split": recipe.split,  # an A/B split of new runs between versions, or None
    }


def _event_view(payload: Any) -> Any:
    if isinstance(payload, dict) and isinstance(payload.get("_headers"), dict):
        payload = {**payload, "_headers": redact_headers(payload["_headers"])}
    return redact(payload)


def run_view(session: Session, run: Run, *, with_steps: bool = True) -> dict[str, Any]:
    event = session.scalar(select(Event.payload).where(Event.id == run.event_id)) if run.event_id else None
    view: dict[str, Any] = {
        "id": run.id,
        "recipe_id": run.recipe_id,
        "recipe_version": run.recipe_version,
        "status": run.status,
        "phase": run.phase,
        "dry_run": run.dry_run,
        "event": _event_view(event),
        "error": run.error,
        "replay_of": run.replay_of,
        "from_step": run.from_step,
        "output": redact(run.output),
        "parent_run_id": run.parent_run_id,
        "parent_path": run.parent_path,
        "wake_at": _iso(run.wake_at),
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
    }
    if with_steps:
        steps = []
        for step in sorted(run.steps, key=lambda s: (s.phase != "main", s.id)):
            attempts = session.scalars(
                select(StepAttempt).where(StepAttempt.step_run_id == step.id).order_by(StepAttempt.number)
            )
            steps.append(
                {
                    "id": step.step_id,
                    "path": step.path,
                    "item": step.item,
                    "depth": step.path.count(".") // 2,
                    "phase": step.phase,
                    "status": step.status,
                    "attempts": step.attempts,
                    "input": redact(step.input),
                    "output": redact(step.output),
                    "error": step.error,
                    "started_at": _iso(step.started_at),
                    "finished_at": _iso(step.finished_at),
                    "attempt_log": [
                        {
                            "number": a.number,
                            "status": a.status,
                            "idempotency_key": a.idempotency_key,
                            "started_at": _iso(a.started_at),
                            "finished_at": _iso(a.finished_at),
                            "duration_ms": a.duration_ms,
                            "error": a.error,
                        }
                        for a in attempts
                    ],
                }
            )
        view["steps"] = steps
    return view
