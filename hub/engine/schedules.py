"""Schedule slots kept in the database, so no scheduler's memory or clock decides what fires.

Each schedule recipe has a row: the anchor its interval counts from (every scheduler, before and
after a failover, keeps the same phase), the latest slot handled and the next one due. The lease
holder fires the latest slot due since the last one, late if it fell while no scheduler led (up to
HUB_SCHEDULE_GRACE_S; older slots are passed over and logged), in the transaction that records it,
so a slot never fires twice: the row's update is conditional and the event is deduped per slot.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.db.clock import database_now
from hub.db.core import affected
from hub.db.models import Recipe, ScheduleState
from hub.engine.intake import store_events
from hub.sdk.types import TriggerEvent

if TYPE_CHECKING:
    from hub.runtime import Runtime

log = logging.getLogger("hub.schedules")
_TICK = timedelta(microseconds=1)
# Fired later than this after its slot (a failover, a busy leader) is worth a log line.
SCHEDULE_LATE_S = 5.0


@dataclass(frozen=True)
class Schedule:
    """An enabled schedule recipe: the version its runs start and the connector's job spec."""

    recipe_id: int
    version: int
    spec: dict[str, Any]

    @property
    def signature(self) -> str:
        """Changes when the timing changes (not with every recipe version), restarting the schedule."""
        return hashlib.sha256(json.dumps(self.spec, sort_keys=True).encode()).hexdigest()

    def trigger(self, anchor: datetime) -> BaseTrigger:
        if self.spec["type"] == "cron":
            timezone = self.spec.get("timezone") or "UTC"
            return CronTrigger.from_crontab(self.spec["expression"], timezone=timezone)
        return IntervalTrigger(seconds=float(self.spec["seconds"]), start_date=anchor, timezone=UTC)

    def first_anchor(self, now: datetime) -> datetime:
        """A new interval schedule's first slot is one interval after it starts."""
        start = now.replace(microsecond=0)
        if self.spec["type"] == "interval":
            return start + timedelta(seconds=float(self.spec["seconds"]))
        return start


def next_slot(trigger: BaseTrigger, after: datetime) -> datetime | None:
    """The first slot strictly after `after`, in UTC."""
    slot = trigger.get_next_fire_time(None, after + _TICK)
    return slot.astimezone(UTC) if slot is not None else None


def latest_slot(trigger: BaseTrigger, after: datetime, now: datetime) -> datetime | None:
    """The latest slot in (after, now]."""
    latest, slot = None, next_slot(trigger, after)
    while slot is not None and slot <= now:
        latest, slot = slot, next_slot(trigger, slot)
    return latest


def reconcile(session: Session, schedules: dict[int, Schedule], now: datetime) -> None:
    """Give every enabled schedule its row and drop the others; a changed schedule starts afresh
    from `now` (slots of a disabled or changed schedule are never caught up). Safe to race."""
    stored = dict(session.execute(select(ScheduleState.recipe_id, ScheduleState.signature)).all())
    gone = set(stored) - set(schedules)
    if gone:
        session.execute(delete(ScheduleState).where(ScheduleState.recipe_id.in_(gone)))
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for recipe_id, schedule in schedules.items():
        if stored.get(recipe_id) == schedule.signature:
            continue
        anchor = schedule.first_anchor(now)
        values = {
            "signature": schedule.signature,
            "anchor_at": anchor,
            "last_slot_at": now,
            "next_slot_at": next_slot(schedule.trigger(anchor), now),
        }
        if recipe_id in stored:  # only if no other scheduler restarted it first
            session.execute(
                update(ScheduleState)
                .where(ScheduleState.recipe_id == recipe_id, ScheduleState.signature == stored[recipe_id])
                .values(**values)
            )
        else:
            new = insert(ScheduleState).values(recipe_id=recipe_id, **values)
            session.execute(new.on_conflict_do_nothing())


def fire_due(runtime: Runtime, schedules: dict[int, Schedule], grace_s: float) -> list[int]:
    """Fire every schedule whose next slot has come, by the database's clock; the runs started."""
    with runtime.db.read() as session:
        now = database_now(session)
        due = session.scalars(select(ScheduleState).where(ScheduleState.next_slot_at <= now)).all()
    run_ids: list[int] = []
    for state in due:
        schedule = schedules.get(state.recipe_id)
        if schedule is not None and schedule.signature == state.signature:  # else reconcile comes first
            run_ids += _fire(runtime, schedule, state, now, grace_s)
    return run_ids


def _fire(
    runtime: Runtime, schedule: Schedule, state: ScheduleState, now: datetime, grace_s: float
) -> list[int]:
    trigger = schedule.trigger(state.anchor_at)
    window = now - timedelta(seconds=grace_s)
    slot = latest_slot(trigger, max(state.last_slot_at, window - _TICK), now)
    handled = slot or now
    with runtime.db.transaction() as session:
        taken = affected(
            session.execute(
                update(ScheduleState)
                .where(
                    ScheduleState.recipe_id == schedule.recipe_id,
                    ScheduleState.signature == state.signature,
                    ScheduleState.last_slot_at == state.last_slot_at,
                )
                .values(last_slot_at=handled, next_slot_at=next_slot(trigger, handled))
            )
        )
        if not taken:  # another scheduler handled it, or the schedule was restarted meanwhile
            return []
        first_missed = next_slot(trigger, state.last_slot_at)
        if first_missed is not None and first_missed < window:
            log.warning(  # slots from `first` up to `before` fell while no scheduler led
                "event=schedule_slots_skipped recipe=%s first=%s before=%s grace_s=%g",
                schedule.recipe_id,
                first_missed.isoformat(),
                window.isoformat(),
                grace_s,
            )
        if slot is None:
            return []
        at = slot.isoformat()
        stored = store_events(
            session,
            recipe_id=schedule.recipe_id,
            recipe_version=schedule.version,
            source="schedule",
            events=[TriggerEvent(id=at, data={"scheduled_at": at})],
            split=session.scalar(select(Recipe.split).where(Recipe.id == schedule.recipe_id)),
        )
    late_s = (now - slot).total_seconds()
    if late_s > SCHEDULE_LATE_S:
        log.info("event=schedule_slot_late recipe=%s slot=%s late_s=%.1f", schedule.recipe_id, at, late_s)
    return [s.run_id for s in stored if s.run_id]
