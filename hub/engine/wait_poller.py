"""Polling on behalf of parked wait_for steps whose trigger is a polling one.

Hubs without a public URL wait for an approval's result by polling: each wait keeps its own
rendered config and cursor, and the first polled item that matches completes the step.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from hub.db.models import Connection, Wait, utcnow
from hub.engine.contexts import build_context
from hub.engine.intake import finish_wait, matches
from hub.engine.poller import MAX_BACKOFF_S
from hub.sdk.connector import PollingTrigger

if TYPE_CHECKING:
    from hub.runtime import Runtime

log = logging.getLogger("hub.wait_poller")
BATCH = 50
WAIT_POLL_INTERVAL_S = 60


def poll_waits(rt: Runtime) -> list[int]:
    """Poll every due wait once; returns the runs woken (already dispatched)."""
    now = utcnow()
    with rt.db.transaction() as session:
        due = session.execute(
            select(
                Wait.id, Wait.connector, Wait.trigger, Wait.config, Wait.cursor, Wait.match, Connection.name
            )
            .outerjoin(Connection, Connection.id == Wait.connection_id)
            .where(Wait.next_poll_at <= now)
            .order_by(Wait.next_poll_at)
            .limit(BATCH)
        ).all()
    woken: list[int] = []
    for wait_id, connector_id, trigger_key, config, cursor, match, connection in due:
        connector = rt.registry.get(connector_id)
        trigger = connector.trigger(trigger_key) if connector else None
        if not isinstance(trigger, PollingTrigger):
            _reschedule(
                rt, wait_id, None, None, f"{connector_id}.{trigger_key} is not an installed polling trigger"
            )
            continue
        interval = max(trigger.min_interval_s, min(trigger.default_interval_s, WAIT_POLL_INTERVAL_S))
        try:
            result = trigger.poll(build_context(rt, connector, connection), config or {}, cursor)
        except Exception as exc:
            log.info("event=wait_poll_failed wait=%s error=%s", wait_id, type(exc).__name__)
            _reschedule(rt, wait_id, cursor, min(MAX_BACKOFF_S, interval * 4), str(exc)[:2000])
            continue
        found = next((item for item in result.items if matches(match or {}, item.data)), None)
        if found is None:
            _reschedule(rt, wait_id, result.cursor if result.cursor is not None else cursor, interval, None)
            continue
        with rt.db.transaction() as session:
            wait = session.get(Wait, wait_id)
            if wait is not None and (run_id := finish_wait(session, wait, found.data)) is not None:
                woken.append(run_id)
    rt.dispatch(woken)
    return woken


def _reschedule(rt: Runtime, wait_id: int, cursor: Any, after_s: float | None, error: str | None) -> None:
    with rt.db.transaction() as session:
        wait = session.get(Wait, wait_id)
        if wait is None:
            return
        wait.cursor = cursor
        wait.next_poll_at = utcnow() + timedelta(seconds=after_s) if after_s is not None else None
        wait.last_error = error
