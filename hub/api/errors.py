"""Every API error is {"error": {"code", "message", "details"}}, never a stack trace.

RecipeError (and TemplateError) -> 422 with details.path; an invalid recipe document (RecipeProblems)
-> 422 with details the list of every problem, [{"path", "message"}, ...]; NotFound -> 404; Conflict
and InvalidState -> 409; any other HubError -> 400; werkzeug's HTTP errors keep their status; a
database that is unavailable for now (hub.db.errors.is_transient) -> 503 with Retry-After; the rest -> 500.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from flask import Response, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from hub.api import api_blueprint
from hub.api.common import ApiError, reply
from hub.connections import Conflict, NotFound
from hub.db.errors import RETRY_AFTER_S, describe, is_transient
from hub.engine.control import InvalidState
from hub.sdk.errors import HubError, RecipeError, RecipeProblems

log = logging.getLogger("hub.api")


def error_body(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> Response:
    answer = reply({"error": {"code": code, "message": message, "details": details}}, status)
    answer.headers.update(headers or {})
    return answer


@api_blueprint.errorhandler(HubError)
def hub_error(exc: HubError) -> Response:
    if isinstance(exc, ApiError):
        return error_body(exc.status, exc.code, exc.message, exc.details, exc.headers)
    if isinstance(exc, RecipeProblems):
        return error_body(422, exc.code, exc.message, exc.problems)
    if isinstance(exc, RecipeError):
        return error_body(422, exc.code, exc.message, {"path": exc.path})
    if isinstance(exc, NotFound):
        return error_body(404, "not_found", exc.message)
    if isinstance(exc, Conflict | InvalidState):
        return error_body(409, exc.code, exc.message)
    return error_body(400, exc.code, exc.message, exc.details)


@api_blueprint.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Response:
    headers = {k: v for k, v in exc.get_headers() if k.lower() in ("allow", "retry-after")}
    code = (exc.name or "error").lower().replace(" ", "_")
    return error_body(exc.code or 500, code, exc.description or "", headers=headers)


@api_blueprint.errorhandler(SQLAlchemyError)
@api_blueprint.errorhandler(sqlite3.Error)
def database_error(exc: Exception) -> Response:
    """A failover, a restart or a lock past the busy timeout is the database's pause, not the API's
    bug: 503 with Retry-After, which clients and monitoring read as "try again", not a 500."""
    if not is_transient(exc):
        return unexpected(exc)
    log.warning("event=api_unavailable reason=database method=%s error=%s", request.method, describe(exc))
    message = "the hub's database is unavailable for now; retry shortly"
    return error_body(503, "database_unavailable", message, headers={"Retry-After": str(RETRY_AFTER_S)})


@api_blueprint.errorhandler(Exception)
def unexpected(exc: Exception) -> Response:
    log.exception("event=api_error method=%s path=%s", request.method, request.path)
    return error_body(500, "internal_error", "the hub failed to handle this request; see its log")


@api_blueprint.record_once
def json_routing_errors(state: Any) -> None:
    """Unknown API paths and methods (raised before the blueprint is chosen) answer in the same shape,
    and so do webhook addresses: senders are machines, and the UI's page needs a session that
    webhook requests are not given (it failed with a 500)."""
    app = state.app

    def routing(exc: HTTPException) -> Any:
        if request.path.startswith(("/api/", "/hooks/")):
            return http_error(exc)
        page = app.extensions.get("hub_error_page")  # the web UI's page in the reader's language
        return page(exc) if page is not None else exc

    app.register_error_handler(404, routing)
    app.register_error_handler(405, routing)
