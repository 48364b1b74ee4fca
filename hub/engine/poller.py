"""One poll of a recipe's polling trigger: new items and the advanced cursor in one transaction.

A first poll takes the current items as seen without starting runs ("start from now"), unless the
recipe asked for a backfill. Repeated authentication failures pause the trigger with a visible
reason instead of failing poll after poll; other failures back off.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from hub.connections import merged_fields
from hub.db.models import AuditEntry, Connection, Recipe, RecipeVersion, TriggerState, utcnow
from hub.engine.intake import mark_seen, resolve_waits, store_events
from hub.engine.stores import DbSecretStore, DbTokenCache
from hub.recipe_secrets import open_document
from hub.redaction import redact
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, HubError, RetryableError
from hub.sdk.types import PollResult

if TYPE_CHECKING:
    from hub.runtime import Runtime

log = logging.getLogger("hub.poller")
AUTH_FAILURES_BEFORE_PAUSE = 3
MAX_BACKOFF_S = 3600.0


def build_context(runtime: Runtime, connector: Any, connection_name: str | None, **extra: Any) -> Context:
    fields: dict[str, Any] = {}
    connection_id = None
    if connection_name:
        with runtime.db.read() as session:
            row = session.scalar(select(Connection).where(Connection.name == connection_name))
            if row is None:
                raise AuthError(f"connection '{connection_name}' no longer exists")
            fields, connection_id = merged_fields(row, runtime.vault), row.id
    return Context(
        connector=connector,
        connection=fields,
        connection_id=connection_id,
        allow_private_network=runtime.settings.allow_private_network,
        cache=DbTokenCache(runtime.db, runtime.vault),
        secret_store=DbSecretStore(runtime.db, runtime.vault, connector, connection_id)
        if connection_id
        else None,
        **extra,
    )


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
        stored = session.scalars(
            select(RecipeVersion.document).where(
                RecipeVersion.recipe_id == recipe_id, RecipeVersion.version == recipe.current_version
            )
        ).one()
        version, state_id, cursor = recipe.current_version, state.id, state.cursor
        primed, backfill = state.primed, state.backfill_from
    document = open_document(stored, runtime.vault, runtime.registry, recipe_id, version)
    spec = document["trigger"]
    connector = runtime.registry.get(spec["connector"])
    trigger = connector.trigger(spec["trigger"]) if connector else None
    if trigger is None or trigger.kind != "polling":
        return {"skipped": "not_polling"}
    started = utcnow()
    try:
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
    """Seen ids, events, runs and the cursor, all or nothing."""
    run_ids: list[int] = []
    new = 0
    with runtime.db.transaction() as session:
        state = session.get(TriggerState, state_id)
        if state is None:
            return {"skipped": "trigger_changed"}
        for item in result.items:
            if item.id is None:
                raise ValueError(f"{connector_id}.{trigger_key} returned an item without an id")
            if not mark_seen(session, state_id, str(item.id)):
                continue
            new += 1
            if not take:
                continue
            stored = store_events(
                session, recipe_id=recipe_id, recipe_version=version, source="poll", events=[item]
            )
            run_ids.extend(s.run_id for s in stored if s.run_id)
            run_ids.extend(resolve_waits(session, connector_id, trigger_key, connection_id, item.data))
        state.cursor = result.cursor if result.cursor is not None else state.cursor
        state.primed = True
        state.last_poll_at = state.last_success_at = started
        state.last_error, state.consecutive_failures, state.auth_failures = None, 0, 0
        state.next_poll_at = None
        if take:
            state.items_taken += new
    runtime.dispatch(run_ids)
    return {"new": new if take else 0, "primed": 0 if take else new, "runs": len(run_ids)}


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
