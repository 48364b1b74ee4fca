"""Runs of two versions over the last days, written straight into the database, for the statistics
page tests (the figures themselves are checked by tests/hub/engine/test_stats.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from hub.db.models import Run, StepRun, utcnow

RECIPE: dict[str, Any] = {
    "name": "Approvals",
    "enabled": True,
    "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
    "steps": [
        {
            "id": "notify",
            "connector": "http",
            "action": "request",
            "input": {"method": "POST", "url": "http://127.0.0.1:9/notify"},
        },
        {
            "id": "approved",
            "type": "wait_for",
            "connector": "webhook",
            "trigger": "catch",
            "match": {"ref": "{{ event.id }}"},
            "timeout_s": 86400,
        },
    ],
}


def seed_runs(session: Session, recipe_id: int) -> None:
    """Ten days of runs: version 1 fails one in three, version 2 one in six; waits resume or time out."""
    now = utcnow()
    for i in range(60):
        version = 1 if i < 30 else 2
        created = now - timedelta(days=i % 10, hours=i % 5, minutes=7)
        failed = i % (3 if version == 1 else 6) == 0
        timed_out = failed and i % 2 == 0
        wait_s = 60 * (5 + i % 20)
        run_id = session.scalar(
            insert(Run)
            .values(
                recipe_id=recipe_id,
                recipe_version=version,
                status="failed" if failed else "succeeded",
                created_at=created,
                finished_at=created + timedelta(seconds=wait_s + 2 + i % 7),
            )
            .returning(Run.id)
        )
        notify_ms = 120 + 15 * (i % 9)
        steps = [
            (
                "notify",
                "failed" if failed and not timed_out else "succeeded",
                notify_ms / 1000,
                3 if failed else 1,
            ),
        ]
        if not failed or timed_out:
            steps.append(("approved", "failed" if timed_out else "succeeded", wait_s, 0))
        for position, (step_id, status, seconds, attempts) in enumerate(steps):
            session.execute(
                insert(StepRun).values(
                    run_id=run_id,
                    step_id=step_id,
                    position=position,
                    status=status,
                    attempts=attempts,
                    started_at=created,
                    finished_at=created + timedelta(seconds=seconds),
                    error={"code": "timeout"} if status == "failed" and step_id == "approved" else None,
                )
            )
