"""POST /hooks/<token>: verify, parse, dedupe, store, then answer. Nothing is acknowledged unstored.

Webhooks are the hub's hottest path, so `HookFastPath` answers them ahead of Flask: a vendor's POST
needs none of what Flask adds per request (an application and request context, URL matching, the
session, CSRF and the web UI's hooks), a quarter of a webhook request's own CPU when profiled. It
reads the request through werkzeug's own Request, as the Flask view does; both answer via `respond`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request

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

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from hub.runtime import Runtime

log = logging.getLogger("hub.ingress")
ingress = Blueprint("ingress", __name__)
CHUNK = 64 * 1024
HOOKS_PREFIX = "/hooks/"
FAST_METHODS = frozenset({"GET", "POST", "PUT"})  # the view's methods; Flask adds HEAD and OPTIONS


class JsonAnswer:
    """The answer to a stored webhook, as a bare WSGI response: werkzeug's Response (its header
    object, status parsing and WSGI header pass) costs ~12 µs more for a fixed JSON body, on every
    event."""

    __slots__ = ("body", "status")

    def __init__(self, status: int, payload: dict[str, Any]) -> None:
        self.status = f"{status} {HTTPStatus(status).phrase}"
        self.body = json.dumps(payload).encode()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response(
            self.status, [("Content-Type", "application/json"), ("Content-Length", str(len(self.body)))]
        )
        return [self.body]


Answer = Response | JsonAnswer


def _error(status: int, code: str, message: str) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(body, status=status, mimetype="application/json")


def _read_body(req: Request, limit: int) -> bytes | None:
    """The body, or None when it is over `limit`, whether or not Content-Length was sent."""
    declared = req.content_length
    if declared is not None and declared > limit:
        return None
    stream = req.stream
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


def _database_error(rt: Runtime, exc: Exception) -> Response:
    """A webhook the database could not take for now (unreachable, failing over, locked) is answered
    503 with Retry-After, which every vendor retries, rather than a 500 that reads as our bug."""
    if not is_transient(exc):
        log.error("event=webhook_failed reason=database error=%s", describe(exc), exc_info=exc)
        return _error(500, "internal_error", "the event could not be stored")
    log.warning("event=webhook_not_stored reason=database_unavailable error=%s", describe(exc))
    rt.metrics.count_webhook("unavailable")
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


def _lookup(rt: Runtime, token: str) -> Found | None:
    """`_load_endpoint`, kept by the recipe index until a recipe changes (in this process: at once;
    in another: within the index's check interval)."""
    return rt.recipes.lookup(("hook", token), lambda: _load_endpoint(rt, token))


def _load_endpoint(rt: Runtime, token: str) -> Found | None:
    """(recipe, document, trigger spec, wait step id, ctx.subscription) for an enabled recipe's endpoint."""
    with rt.db.read() as session:
        endpoint = session.scalar(select(HookEndpoint).where(HookEndpoint.token == token))
        if endpoint is None:
            return None
        recipe = session.get(Recipe, endpoint.recipe_id)
        if recipe is None or recipe.deleted_at is not None or not recipe.enabled:
            return None
        _, _, version, stored = current_version(session, recipe.id)
        subscription = endpoint_subscription(session, rt.vault, recipe.id, endpoint.step_id)
        document = open_document(stored, rt.vault, rt.registry, recipe.id, version)
    if endpoint.step_id is None:
        return recipe, document, document["trigger"], None, subscription
    step = find_step(document, endpoint.step_id)
    if step is not None and step_type(step) == "wait_for":
        return recipe, document, step, endpoint.step_id, subscription
    return None


def _capture_lookup(rt: Runtime, token: str) -> Found | None:
    """The recipe behind `token` when no live recipe answers there but its editor listens for an event."""
    with rt.db.read() as session:
        target = capture.capture_target(session, token)
        if target is None:
            return None
        recipe, version, stored = target
        subscription = endpoint_subscription(session, rt.vault, recipe.id, None)
        document = open_document(stored, rt.vault, rt.registry, recipe.id, version)
    return recipe, document, document["trigger"], None, subscription


@ingress.route("/hooks/<token>", methods=["GET", "POST", "PUT"])
def receive(token: str) -> Answer:
    """What HookFastPath leaves to Flask (HEAD, OPTIONS) and a Flask app without the fast path."""
    return respond(runtime(), token, request)


def respond(rt: Runtime, token: str, req: Request) -> Answer:
    """The answer to a request at `token`'s address. A webhook the database could not take for now
    is answered 503 with Retry-After (see _database_error)."""
    try:
        return _respond(rt, token, req)
    except (SQLAlchemyError, sqlite3.Error) as exc:
        return _database_error(rt, exc)


def _respond(rt: Runtime, token: str, req: Request) -> Answer:
    count = rt.metrics.count_webhook
    body = _read_body(req, rt.settings.max_webhook_bytes)
    if body is None:
        count("too_large")
        return _error(413, "payload_too_large", f"body is larger than {rt.settings.max_webhook_bytes} bytes")
    found = _lookup(rt, token)
    capturing = found is None and (found := _capture_lookup(rt, token)) is not None
    if found is None:
        count("unknown")
        return _error(404, "not_found", "no enabled recipe listens at this address")
    recipe, _document, spec, wait_step, subscription = found
    connector = rt.registry.get(spec["connector"])
    trigger = connector.trigger(spec["trigger"]) if connector else None
    if connector is None or not isinstance(trigger, WebhookTrigger):
        count("unknown")
        return _error(404, "not_found", f"trigger {spec['connector']}.{spec['trigger']} is not installed")
    config = spec.get("config") or {}
    hook_url = f"{rt.settings.base_url}/hooks/{token}"
    query = req.query_string.decode("latin-1")
    inbound = InboundRequest(
        method=req.method,
        url=f"{rt.settings.base_url}{req.path}" + (f"?{query}" if query else ""),
        path=req.path,
        headers=Headers(req.headers),
        query=req.args.to_dict(flat=True),
        body=body,
        remote_addr=req.remote_addr,
    )
    try:
        ctx = build_context(
            rt, connector, spec.get("connection"), hook_url=hook_url, subscription=subscription
        )
    except HubError as exc:  # the vendor retries a 503; the event is not lost
        count("unavailable")
        return _error(503, "connection_unavailable", exc.message)
    try:
        answer = trigger.handshake(ctx, config, inbound)
        if answer is not None:
            count("handshake")
            return _vendor_response(answer)
        if req.method == "GET":
            return _error(405, "method_not_allowed", "send events with POST")
        trigger.verify(ctx, config, inbound)
    except (InvalidBodyError, RecursionError) as exc:
        count("bad_request")
        return _unreadable(exc)
    except SignatureError as exc:
        count("bad_signature")
        if exc.response is not None:  # the answer the vendor's protocol asks for
            return _vendor_response(exc.response)
        return _error(401, "bad_signature", exc.message)
    except (ValueError, TypeError, KeyError, UnicodeError, PermanentError) as exc:
        count("bad_signature")
        return _error(401, "bad_signature", f"signature could not be checked: {exc}")
    try:
        events = trigger.parse(ctx, config, inbound)
    except (PermanentError, ValueError, UnicodeError, RecursionError) as exc:
        count("bad_request")
        return _unreadable(exc)
    problem = _unstorable(events)
    if problem is not None:
        count("bad_request")
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
    if run_ids:
        rt.make_room()  # stored and queued: the answer may wait for the runs ahead (HUB_ACK_AHEAD_S)
    fresh = [s for s in stored if not s.duplicate]
    count("accepted" if fresh else "duplicate")
    answer = trigger.acknowledge(ctx, config, inbound, [str(s.event_id) for s in stored])
    if answer is not None:
        return _vendor_response(answer)
    ids = [str(s.event_id) for s in stored]
    payload = {"event_id": ids[0] if ids else None, "event_ids": ids}
    return JsonAnswer(202 if fresh or not stored else 200, payload)


class HookFastPath:
    """WSGI middleware in front of Flask: a GET, POST or PUT at /hooks/<token> is answered by
    `respond` directly; everything else (and HEAD, OPTIONS there) goes on to Flask."""

    def __init__(self, app: WSGIApplication, rt: Runtime) -> None:
        self.app = app
        self.rt = rt

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(HOOKS_PREFIX) and environ.get("REQUEST_METHOD") in FAST_METHODS:
            req = Request(environ)
            token = req.path[len(HOOKS_PREFIX) :]
            if token and "/" not in token:
                return self._answer(token, req)(environ, start_response)
        return self.app(environ, start_response)

    def _answer(self, token: str, req: Request) -> Answer:
        try:
            return respond(self.rt, token, req)
        except Exception:  # as Flask would: logged, and a 500 that names no internals
            log.exception("event=webhook_failed reason=unexpected_error")
            return _error(500, "internal_error", "the event could not be taken")
