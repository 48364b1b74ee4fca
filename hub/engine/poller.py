"""One poll of a recipe's polling trigger: new items and the advanced cursor in one transaction.

A first poll takes the current items as seen without starting runs ("start from now"), unless the
recipe asked for a backfill. Repeated authentication failures pause the trigger with a visible
reason instead of failing poll after poll; other failures back off.
"""

from __future__ import annotations

import json
import logging
import reprlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import DataError, DBAPIError, StatementError
from sqlalchemy.orm import Session

from hub.db.models import AuditEntry, Recipe, Run, TriggerState, utcnow
from hub.engine.contexts import build_context
from hub.engine.intake import mark_seen, resolve_waits, store_events
from hub.jsonutil import InvalidJSON, check_storable
from hub.projects import ensure_reachable
from hub.recipe_index import current_version
from hub.recipe_secrets import open_document
from hub.redaction import redact
from hub.sdk.connector import PollingTrigger
from hub.sdk.errors import AuthError, HubError, RetryableError
from hub.sdk.types import PollResult, TriggerEvent

if TYPE_CHECKING:
    from hub.runtime import Runtime

log = logging.getLogger("hub.poller")
AUTH_FAILURES_BEFORE_PAUSE = 3
MAX_BACKOFF_S = 3600.0
QUARANTINE_PREVIEW_CHARS = 64 * 1024
_preview_repr = reprlib.Repr()  # bounded depth and size, and never recursion deep enough to fail
_preview_repr.maxlevel, _preview_repr.maxdict, _preview_repr.maxlist = 20, 200, 200
_preview_repr.maxstring = _preview_repr.maxother = 2000


def check_connection(runtime: Runtime, connector: Any, connection_name: str) -> tuple[bool, str | None]:
    """Ask the connector to check the stored credentials: (ok, message with secrets redacted). A
    connector's own bug is reported as a failed check, never raised at the person testing."""
    secrets: list[str] = []
    try:
        ctx = build_context(runtime, connector, connection_name)
        secrets = ctx.secrets()
        message = connector.test_connection(ctx)
    except HubError as exc:
        return False, redact(exc.message, secrets)
    except Exception as exc:
        return False, redact(f"{type(exc).__name__}: {exc}", secrets)
    return True, redact(str(message), secrets) if message else None


def poll_recipe(runtime: Runtime, recipe_id: int) -> dict[str, Any]:
    """Poll once if the trigger is due; returns counts for logs and tests."""
    with runtime.db.transaction() as session:
        recipe = session.get(Recipe, recipe_id)
        state = session.scalar(select(TriggerState).where(TriggerState.recipe_id == recipe_id))
        if recipe is None or not recipe.enabled or recipe.deleted_at is not None or state is None:
            return {"skipped": "disabled"}
        if state.paused:
            return {"skipped": "paused"}
        if state.next_poll_at is not None and state.next_poll_at > utcnow():
            return {"skipped": "backing_off"}
        _, _, version, stored = current_version(session, recipe_id)
        state_id, cursor = state.id, state.cursor
        primed, backfill = state.primed, state.backfill_from
    document = open_document(stored, runtime.vault, runtime.registry, recipe_id, version)
    spec = document["trigger"]
    connector = runtime.registry.get(spec["connector"])
    trigger = connector.trigger(spec["trigger"]) if connector else None
    if connector is None or not isinstance(trigger, PollingTrigger):
        return {"skipped": "not_polling"}
    started = utcnow()
    try:
        if spec.get("connection"):
            with runtime.db.read() as session:
                ensure_reachable(session, recipe_id, spec["connection"], "$.trigger.connection")
        ctx = build_context(
            runtime, connector, spec.get("connection"), since=backfill if not primed else None
        )
        result = trigger.poll(ctx, spec.get("config") or {}, cursor)
    except Exception as exc:
        runtime.metrics.polls.labels("error").inc()
        _record_failure(runtime, state_id, recipe_id, exc)
        return {"error": str(exc)}
    stored = store_poll_result(
        runtime,
        recipe_id,
        version,
        state_id,
        result,
        take=primed or backfill is not None,
        started=started,
        connector_id=connector.id,
        trigger_key=trigger.key,
        connection_id=ctx.connection_id,
    )
    runtime.metrics.polls.labels("ok").inc()
    runtime.metrics.poll_items.inc(stored["new"])
    return stored


def store_poll_result(
    runtime: Runtime,
    recipe_id: int,
    version: int,
    state_id: int,
    result: PollResult,
    *,
    take: bool,
    started: Any,
    connector_id: str,
    trigger_key: str,
    connection_id: int | None,
) -> dict[str, Any]:
    """Seen ids, events, runs and the cursor, all or nothing, except that an item which cannot be
    stored is quarantined (see _quarantine) so that one bad item never stops the trigger."""
    run_ids: list[int] = []
    new = quarantined = 0
    with runtime.db.transaction() as session:
        state = session.get(TriggerState, state_id)
        if state is None:
            return {"skipped": "trigger_changed"}
        split = session.scalar(select(Recipe.split).where(Recipe.id == recipe_id))  # read with the items
        for item in result.items:
            if item.id is None:
                raise ValueError(f"{connector_id}.{trigger_key} returned an item without an id")
            if not mark_seen(session, state_id, _storable_id(item.id)):
                continue
            new += 1
            if not take:
                continue
            try:
                run_ids.extend(
                    _store_item(
                        session, recipe_id, version, item, connector_id, trigger_key, connection_id, split
                    )
                )
            except UnstorableItem as exc:
                run_ids.append(_quarantine(session, recipe_id, version, item, str(exc)))
                quarantined += 1
        state.cursor = result.cursor if result.cursor is not None else state.cursor
        state.primed = True
        state.last_poll_at = state.last_success_at = started
        state.last_error, state.consecutive_failures, state.auth_failures = None, 0, 0
        state.next_poll_at = None
        if take:
            state.items_taken += new
    runtime.dispatch(run_ids)
    counts = {"new": new if take else 0, "primed": 0 if take else new, "runs": len(run_ids)}
    return {**counts, "quarantined": quarantined} if quarantined else counts


class UnstorableItem(Exception):
    """A poll item the database cannot take; the message says why."""


def _storable_id(item_id: Any) -> str:
    """The item id as stored for dedupe; one holding NUL or lone surrogates is kept escaped."""
    text = str(item_id)
    try:
        check_storable(text)
    except InvalidJSON:
        return text.encode("unicode_escape").decode("ascii")
    return text


def _store_item(
    session: Session,
    recipe_id: int,
    version: int,
    item: TriggerEvent,
    connector_id: str,
    trigger_key: str,
    connection_id: int | None,
    split: dict[str, int] | None,
) -> list[int]:
    """Store one poll item (event, run, woken waits) in its own savepoint; the runs to dispatch.

    Raises UnstorableItem, with the savepoint rolled back, for data the JSON policy refuses or the
    database rejects as invalid; any other error (a lost connection) fails the whole poll as before."""
    try:
        check_storable(item.data)
        check_storable(item.id)
        with session.begin_nested():
            stored = store_events(
                session,
                recipe_id=recipe_id,
                recipe_version=version,
                source="poll",
                events=[item],
                split=split,
            )
            runs = [s.run_id for s in stored if s.run_id]
            runs.extend(resolve_waits(session, connector_id, trigger_key, connection_id, item.data))
            return runs
    except InvalidJSON as exc:
        raise UnstorableItem(str(exc)) from exc
    except DBAPIError as exc:
        if not isinstance(exc, DataError):
            raise
        raise UnstorableItem(f"the database refused it: {exc.orig}") from exc
    except StatementError as exc:  # raised while binding parameters, before reaching the database
        raise UnstorableItem(f"{type(exc.orig).__name__}: {exc.orig}") from exc
    except (ValueError, TypeError) as exc:
        raise UnstorableItem(f"{type(exc).__name__}: {exc}") from exc


def _quarantine(session: Session, recipe_id: int, version: int, item: TriggerEvent, reason: str) -> int:
    """Keep an unstorable item visible instead of stopping the trigger: an event holding an escaped
    preview of it and a run that goes straight to the recipe's on_failure steps, so it ends `failed`
    in the run list with the reason as its error and notifies whoever the failure steps notify."""
    item_id = _storable_id(item.id)
    message = f"poll item {item_id} could not be stored: {reason}"
    placeholder = TriggerEvent(  # no id: the seen-item record already keeps it from repeating
        data={"quarantined": {"item_id": item_id, "reason": message, "preview": _preview(item.data)}}
    )
    stored = store_events(
        session,
        recipe_id=recipe_id,
        recipe_version=version,
        source="poll",
        events=[placeholder],
        start_runs=False,
    )
    run = Run(
        recipe_id=recipe_id,
        recipe_version=version,
        event_id=stored[0].event_id,
        status="queued",
        phase="on_failure",
        error={"code": "unstorable_item", "type": UnstorableItem.__name__, "message": message},
    )
    session.add(run)
    session.flush()
    session.add(
        AuditEntry(
            actor="system",
            action="trigger.item_quarantined",
            target_type="recipe",
            target_id=str(recipe_id),
            details={"run_id": run.id, "reason": message[:2000]},
        )
    )
    log.warning("event=poll_item_quarantined recipe=%s run=%s", recipe_id, run.id)
    return run.id


def _preview(data: Any) -> str:
    """The item as ASCII text (escapes for what JSON storage refuses), cut to a bounded size."""
    try:
        text = json.dumps(data, ensure_ascii=True, default=str)
    except (ValueError, TypeError, RecursionError):
        try:
            text = _preview_repr.repr(data)
        except ValueError:  # an integer over Python's digit limit
            text = f"<{type(data).__name__} that cannot be shown>"
    return text[:QUARANTINE_PREVIEW_CHARS]


def _record_failure(runtime: Runtime, state_id: int, recipe_id: int, exc: Exception) -> None:
    with runtime.db.transaction() as session:
        state = session.get(TriggerState, state_id)
        if state is None:
            return
        state.last_poll_at = utcnow()
        state.last_error = str(exc)[:2000]
        state.consecutive_failures += 1
        if isinstance(exc, AuthError):
            state.auth_failures += 1
            if state.auth_failures >= AUTH_FAILURES_BEFORE_PAUSE:
                state.paused = True
                state.paused_reason = (
                    f"paused after {state.auth_failures} authentication failures: {exc}. "
                    "Fix the connection, then enable the recipe again."
                )
                session.add(
                    AuditEntry(
                        actor="system",
                        action="trigger.paused",
                        target_type="recipe",
                        target_id=str(recipe_id),
                        details={"reason": state.paused_reason},
                    )
                )
                log.warning("event=trigger_paused recipe=%s reason=auth", recipe_id)
        wait = min(MAX_BACKOFF_S, 30.0 * 2 ** min(state.consecutive_failures - 1, 10))
        if isinstance(exc, RetryableError) and exc.retry_after:
            wait = min(MAX_BACKOFF_S, max(wait, exc.retry_after))
        state.next_poll_at = utcnow() + timedelta(seconds=wait)
    log.info("event=poll_failed recipe=%s error=%s", recipe_id, type(exc).__name__)
