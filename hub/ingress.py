"""POST /hooks/<token>: verify, parse, dedupe, store, then answer. Nothing is acknowledged unstored."""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.datastructures import Headers

from hub import capture
from hub.current import runtime
from hub.db.errors import RETRY_AFTER_S, describe, is_transient
from hub.db.models import HookEndpoint, Recipe
from hub.engine.contexts import build_context
from hub.engine.intake import Stored, WaitEndpoint, resolve_waits, store_events
from hub.engine.run.fresh import FreshRun
from hub.engine.subscriptions import endpoint_subscription
from hub.jsonutil import InvalidJSON, check_storable, dumps
from hub.recipe_index import current_version
from hub.recipe_secrets import open_document
from hub.recipe_tree import find_step, step_type
from hub.sdk.connector import WebhookTrigger
from hub.sdk.errors import HubError, InvalidBodyError, PermanentError, SignatureError
from hub.sdk.types import InboundRequest, TriggerEvent, WebhookResponse

log = logging.getLogger("hub.ingress")
ingress = Blueprint("ingress", __name__)
CHUNK = 64 * 1024


def _error(status: int, code: str, message: str) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(body, status=status, mimetype="application/json")


def _read_body(limit: int) -> bytes | None:
    """The body, or None when it is over `limit`, whether or not Content-Length was sent."""
    declared = request.content_length
    if declared is not None and declared > limit:
        return None
    stream = request.stream
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None
    return b"".join(chunks)


def _unreadable(exc: BaseException) -> Response:
    """A body no trigger can take (bad JSON, deep nesting, bad encoding) is the sender's error: 400."""
    if isinstance(exc, RecursionError):
        return _error(400, "bad_request", "body is nested too deeply")
    return _error(400, "bad_request", getattr(exc, "message", None) or str(exc))


def _unstorable(events: list[TriggerEvent]) -> str | None:
    """Why one of the parsed events cannot be stored (hub.jsonutil's policy), if one cannot."""
    for event in events:
        try:
            check_storable(event.data)
            check_storable(event.id)
        except InvalidJSON as exc:
            return f"event cannot be stored: {exc}"
    return None


@ingress.errorhandler(SQLAlchemyError)
@ingress.errorhandler(sqlite3.Error)
def _database_error(exc: Exception) -> Response:
    """A webhook the database could not take for now (unreachable, failing over, locked) is answered
    503 with Retry-After, which every vendor retries, rather than a 500 that reads as our bug."""
    if not is_transient(exc):
        log.error("event=webhook_failed reason=database error=%s", describe(exc), exc_info=exc)
        return _error(500, "internal_error", "the event could not be stored")
    log.warning("event=webhook_not_stored reason=database_unavailable error=%s", describe(exc))
    runtime().metrics.webhooks.labels("unavailable").inc()
    response = _error(503, "database_unavailable", "the event could not be stored now; retry shortly")
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _vendor_response(answer: WebhookResponse) -> Response:
    body = answer.body
    mimetype = None
    if isinstance(body, dict):
        body, mimetype = dumps(body), "application/json"
    response = Response(body if body is not None else b"", status=answer.status, mimetype=mimetype)
    for name, value in answer.headers.items():
        response.headers[name] = value
    return response


Found = tuple[Recipe, dict[str, Any], dict[str, Any], str | None, dict[str, Any] | None]


def _lookup(token: str) -> Found | None:
    """`_load_endpoint`, kept by the recipe index until a recipe changes (in this process: at once;
    in another: within the index's check interval)."""
    return runtime().recipes.lookup(("hook", token), lambda: _load_endpoint(token))


def _load_endpoint(token: str) -> Found | None:
    """(recipe, document, trigger spec, wait step id, ctx.subscription) for an enabled recipe's endpoint."""
    with runtime().db.read() as session:
        endpoint = session.scalar(select(HookEndpoint).where(HookEndpoint.token == token))
        if endpoint is None:
            return None
        recipe = session.get(Recipe, endpoint.recipe_id)
        if recipe is None or recipe.deleted_at is not None or not recipe.enabled:
            return None
        _, _, version, stored = current_version(session, recipe.id)
        rt = runtime()
        subscription = endpoint_subscription(session, rt.vault, recipe.id, endpoint.step_id)
        document = open_document(stored, rt.vault, rt.registry, recipe.id, version)
    if endpoint.step_id is None:
        return recipe, document, document["trigger"], None, subscription
    step = find_step(document, endpoint.step_id)
    if step is not None and step_type(step) == "wait_for":
        return recipe, document, step, endpoint.step_id, subscription
    return None


def _capture_lookup(token: str) -> Found | None:
    """The recipe behind `token` when no live recipe answers there but its editor listens for an event."""
    rt = runtime()
    with rt.db.read() as session:
        target = capture.capture_target(session, token)
        if target is None:
            return None
        recipe, version, stored = target
        subscription = endpoint_subscription(session, rt.vault, recipe.id, None)
        document = open_document(stored, rt.vault, rt.registry, recipe.id, version)
    return recipe, document, document["trigger"], None, subscription


@ingress.route("/hooks/<token>", methods=["GET", "POST", "PUT"])
def receive(token: str) -> Response:
    rt = runtime()
    count = rt.metrics.webhooks
    body = _read_body(rt.settings.max_webhook_bytes)
    if body is None:
        count.labels("too_large").inc()
        return _error(413, "payload_too_large", f"body is larger than {rt.settings.max_webhook_bytes} bytes")
    found = _lookup(token)
    capturing = found is None and (found := _capture_lookup(token)) is not None
    if found is None:
        count.labels("unknown").inc()
        return _error(404, "not_found", "no enabled recipe listens at this address")
    recipe, _document, spec, wait_step, subscription = found
    connector = rt.registry.get(spec["connector"])
    trigger = connector.trigger(spec["trigger"]) if connector else None
    if connector is None or not isinstance(trigger, WebhookTrigger):
        count.labels("unknown").inc()
        return _error(404, "not_found", f"trigger {spec['connector']}.{spec['trigger']} is not installed")
    config = spec.get("config") or {}
    hook_url = f"{rt.settings.base_url}/hooks/{token}"
    query = request.query_string.decode("latin-1")
    inbound = InboundRequest(
        method=request.method,
        url=f"{rt.settings.base_url}{request.path}" + (f"?{query}" if query else ""),
        path=request.path,
        headers=Headers(request.headers),
        query=request.args.to_dict(flat=True),
        body=body,
        remote_addr=request.remote_addr,
    )
    try:
        ctx = build_context(
            rt, connector, spec.get("connection"), hook_url=hook_url, subscription=subscription
        )
    except HubError as exc:  # the vendor retries a 503; the event is not lost
        count.labels("unavailable").inc()
        return _error(503, "connection_unavailable", exc.message)
    try:
        answer = trigger.handshake(ctx, config, inbound)
        if answer is not None:
            count.labels("handshake").inc()
            return _vendor_response(answer)
        if request.method == "GET":
            return _error(405, "method_not_allowed", "send events with POST")
        trigger.verify(ctx, config, inbound)
    except (InvalidBodyError, RecursionError) as exc:
        count.labels("bad_request").inc()
        return _unreadable(exc)
    except SignatureError as exc:
        count.labels("bad_signature").inc()
        if exc.response is not None:  # the answer the vendor's protocol asks for
            return _vendor_response(exc.response)
        return _error(401, "bad_signature", exc.message)
    except (ValueError, TypeError, KeyError, UnicodeError, PermanentError) as exc:
        count.labels("bad_signature").inc()
        return _error(401, "bad_signature", f"signature could not be checked: {exc}")
    try:
        events = trigger.parse(ctx, config, inbound)
    except (PermanentError, ValueError, UnicodeError, RecursionError) as exc:
        count.labels("bad_request").inc()
        return _unreadable(exc)
    problem = _unstorable(events)
    if problem is not None:
        count.labels("bad_request").inc()
        return _error(400, "bad_request", problem)
    if capturing:  # a draft's editor listening for a test event: kept for the editor, no run
        rt.db.write(lambda session: capture.keep(session, recipe.id, events[0].data if events else {}))
        return Response(json.dumps({"captured": True}), status=202, mimetype="application/json")

    def store(session: Session) -> tuple[list[Stored], list[int]]:
        stored = store_events(
            session,
            recipe_id=recipe.id,
            recipe_version=recipe.current_version,
            source="webhook" if wait_step is None else f"wait:{wait_step}",
            events=events,
            start_runs=wait_step is None,
            split=recipe.split,
        )
        run_ids = [s.run_id for s in stored if s.run_id]
        kept_for = None  # an event at a wait step's own URL may beat its run there: kept for a while
        if wait_step is not None:
            window, most = rt.settings.wait_event_window_s, rt.settings.wait_event_max
            kept_for = WaitEndpoint(recipe.id, wait_step, window, most)
        for item, result in zip(events, stored, strict=True):
            if not result.duplicate:
                run_ids.extend(
                    resolve_waits(session, connector.id, trigger.key, ctx.connection_id, item.data, kept_for)
                )
        return stored, run_ids

    stored, run_ids = rt.db.write(store)  # a database error is answered by _database_error
    fresh_runs = {
        s.run.id: FreshRun(s.run, item.data, len(body))
        for item, s in zip(events, stored, strict=True)
        if s.run is not None
    }
    rt.dispatch(run_ids, fresh_runs)
    fresh = [s for s in stored if not s.duplicate]
    count.labels("accepted" if fresh else "duplicate").inc()
    answer = trigger.acknowledge(ctx, config, inbound, [str(s.event_id) for s in stored])
    if answer is not None:
        return _vendor_response(answer)
    ids = [str(s.event_id) for s in stored]
    payload = {"event_id": ids[0] if ids else None, "event_ids": ids}
    return Response(
        json.dumps(payload), status=202 if fresh or not stored else 200, mimetype="application/json"
    )
