"""The editor's test-while-building endpoints: live template previews and listening for a test event.

Both answer JSON to the editor's script. A preview renders one template against the sample the page
holds, in the same sandbox and under the same limits as a run, and performs nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, jsonify, request
from flask_babel import gettext as _

from hub import capture, jsonutil, templating
from hub.current import runtime
from hub.recipe_store import get_recipe
from hub.sdk.errors import HubError
from hub.web import web
from hub.web.auth import page

MAX_PREVIEW_CHARS = 2000


@web.post("/recipes/preview")
@page("editor")
def template_preview() -> Any:
    """{"template", "context"} -> {"ok": true, "value"} or {"ok": false, "error"}; nothing is sent."""
    try:
        body = jsonutil.strict_loads(request.get_data(as_text=True) or "{}")
    except ValueError:
        return jsonify(ok=False, error=_("The preview request is not valid JSON.")), 400
    template = body.get("template") if isinstance(body, dict) else None
    context = body.get("context") if isinstance(body, dict) else None
    if not isinstance(template, str) or not isinstance(context, dict):
        return jsonify(ok=False, error=_("Send a template and a context object.")), 400
    try:
        value = templating.render_value(_structure(template), context, "$")
    except HubError as exc:
        return jsonify(ok=False, error=exc.message)
    text = value if isinstance(value, str) else jsonutil.dumps(value)
    if len(text) > MAX_PREVIEW_CHARS:
        text = text[:MAX_PREVIEW_CHARS] + "…"
    return jsonify(ok=True, value=text)


def _structure(template: str) -> Any:
    """A JSON field's text as the object a run renders (each string in it a template), else the text."""
    try:
        value = jsonutil.strict_loads(template)
    except ValueError:
        return template
    return value if isinstance(value, dict | list) else template


def _existing(recipe_id: int) -> None:
    with runtime().db.transaction() as db:
        try:
            get_recipe(db, recipe_id)
        except HubError:
            abort(404)


@web.get("/recipes/<int:recipe_id>/listen")
@page("editor")
def listen_state(recipe_id: int) -> Any:
    """Whether the editor still listens, and the event that arrived (without its transport headers)."""
    _existing(recipe_id)
    with runtime().db.transaction() as db:
        found = capture.listening(db, recipe_id)
    event = found.event
    if isinstance(event, dict):
        event = {k: v for k, v in event.items() if k != "_headers"}
    body = jsonutil.dumps({"listening": found.listening, "event": event})  # numbers stay numbers
    return Response(body, mimetype="application/json")
