"""Small helpers every page module shares: messages from core errors, flashing, redirects."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_babel import gettext as _

from hub.recipes import SchemaViolation
from hub.sdk.errors import HubError, RecipeError, RecipeProblems
from hub.web.recipe_form import split_error
from hub.web.validation_text import schema_message


def error_map(exc: HubError) -> dict[str, str]:
    """A core error as {JSON path: message} (every problem of an invalid recipe); errors without a
    path go under '$'."""
    if isinstance(exc, RecipeProblems):
        found: dict[str, str] = {}
        for error in exc.errors:
            path, message = _placed(error)
            found[path] = f"{found[path]}; {message}" if path in found else message
        return found
    if isinstance(exc, RecipeError):
        path, message = _placed(exc)
        return {path: message}
    return {"$": exc.message}


def _placed(error: RecipeError) -> tuple[str, str]:
    """The field an error belongs beside, and its message in the page's language where the core
    gave the rule that failed (SchemaViolation; split_error words a missing field itself)."""
    path, message = split_error(error.path, error.message)
    if isinstance(error, SchemaViolation) and error.keyword != "required":
        message = schema_message(error, message)
    return path, message


def flash_error(exc: HubError | str) -> None:
    flash(exc if isinstance(exc, str) else exc.message, "error")


def flash_ok(message: str) -> None:
    flash(message, "ok")


def project_label(name: str) -> str:
    """A project's name as the page shows it: the default project's in the page's language."""
    return _("default") if name == "default" else name


def role_label(role: str) -> str:
    labels = {
        "viewer": _("viewer"),
        "operator": _("operator"),
        "editor": _("editor"),
        "owner": _("owner"),
        "admin": _("admin"),
    }
    return labels.get(role, role)


def status_label(status: str | None) -> str:
    labels: dict[str, Any] = {
        "queued": _("queued"),
        "running": _("running"),
        "waiting": _("waiting"),
        "held": _("held"),
        "succeeded": _("succeeded"),
        "failed": _("failed"),
        "filtered": _("filtered"),
        "cancelled": _("cancelled"),
        "pending": _("pending"),
        "retrying": _("retrying"),
        "skipped": _("skipped"),
        "started": _("started"),  # an attempt under way
        "unknown": _("outcome unknown"),  # an attempt cut off after the call may have happened
    }
    return labels.get(status or "", status or "")
