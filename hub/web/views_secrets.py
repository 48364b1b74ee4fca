"""Named secrets: everyone signed in sees the names (to use them in recipes); admins set, replace and
delete them. A value is typed into a password field, sent once and never shown again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from hub.current import runtime
from hub.sdk.errors import HubError
from hub.services import secrets as service
from hub.web import web
from hub.web.auth import page
from hub.web.common import error_map, flash_error, flash_ok


def _listing(errors: dict[str, str] | None = None, status: int = 200) -> Any:
    names = [
        {**item, "updated_at": datetime.fromisoformat(item["updated_at"])}
        for item in service.list_secrets(runtime())
    ]
    form = {"name": request.form.get("name", "")}  # never the value back into the page
    return render_template("secrets.html", secrets=names, errors=errors or {}, form=form), status


@web.get("/secrets")
@page("viewer")
def named_secrets() -> Any:
    return _listing()


@web.post("/secrets")
@page("admin")
def named_secret_set() -> Any:
    name = (request.form.get("name") or "").strip()
    try:
        service.set_secret(runtime(), actor=g.actor, name=name, value=request.form.get("value") or "")
    except HubError as exc:
        return _listing(error_map(exc), status=422)
    flash_ok(_("Secret %(name)s saved.", name=name))
    return redirect(url_for("web.named_secrets"))


@web.post("/secrets/<name>/delete")
@page("admin")
def named_secret_delete(name: str) -> Any:
    try:
        service.delete_secret(runtime(), actor=g.actor, name=name)
    except HubError as exc:
        flash_error(exc)
    else:
        flash_ok(_("Secret %(name)s deleted.", name=name))
    return redirect(url_for("web.named_secrets"))
