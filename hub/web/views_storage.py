"""The storage utility's keys in the browser: browse by scope and prefix (viewer), edit and delete
(editor). The same service as the REST API does the checks and writes the audit entries."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from hub import jsonutil
from hub.connections import NotFound
from hub.current import runtime
from hub.db.models import Recipe
from hub.sdk.errors import HubError
from hub.services import storage as service
from hub.web import web
from hub.web.auth import page
from hub.web.common import error_map, flash_error, flash_ok

PAGE_SIZE = 50


def _scope_names() -> dict[str, str]:
    """Every scope worth offering, with a readable name: global, and each recipe holding keys."""
    rt = runtime()
    scopes = ["global", *[s for s in service.list_scopes(rt) if s != "global"]]
    with rt.db.read() as db:
        recipes = dict(db.execute(select(Recipe.id, Recipe.name)).all())
    names = {}
    for scope in scopes:
        _kind, _sep, number = scope.partition(":")
        recipe = recipes.get(int(number)) if number.isdigit() else None
        names[scope] = _("Recipe: %(name)s", name=recipe) if recipe else scope
    return names


def _editing(scope: str, key: str) -> dict[str, str]:
    """The form filled with a key's value to edit it; just its name if it is gone meanwhile."""
    try:
        entry = service.get_value(runtime(), scope, key)
    except NotFound:
        flash_error(_("Key %(key)s no longer exists.", key=key))
        return {"key": key}
    return {"key": entry["key"], "value": jsonutil.dumps(entry["value"], indent=2)}


def _browse(errors: dict[str, str] | None = None, status: int = 200) -> Any:
    args = request.values
    scope = args.get("scope") or "global"
    prefix = args.get("prefix") or ""
    form = dict(request.form) if request.method == "POST" else {}
    try:
        listing = service.list_values(runtime(), scope, prefix, args.get("cursor") or None, PAGE_SIZE)
        if args.get("edit") and not form:
            form = _editing(scope, args["edit"])
    except HubError as exc:
        return render_template("error.html", code=400, message=exc.message), 400
    next_cursor = listing["next_cursor"]
    return render_template(
        "storage.html",
        scope=scope,
        prefix=prefix,
        scopes=_scope_names(),
        entries=listing["entries"],
        next_url=url_for("web.storage", scope=scope, prefix=prefix, cursor=next_cursor)
        if next_cursor
        else None,
        dumps=lambda value: jsonutil.dumps(value, indent=2),
        form=form,
        errors=errors or {},
    ), status


@web.get("/storage")
@page("viewer")
def storage() -> Any:
    return _browse()


@web.post("/storage")
@page("editor")
def storage_save() -> Any:
    form = request.form
    scope, key = form.get("scope") or "global", form.get("key") or ""
    try:
        value = jsonutil.strict_loads(form.get("value") or "")
    except jsonutil.InvalidJSON as exc:
        return _browse({"$.value": _("The value is not valid JSON: %(problem)s", problem=str(exc))}, 422)
    try:
        ttl_s = service.parse_ttl(float(form["ttl_s"])) if form.get("ttl_s") else None
        service.put_value(runtime(), scope, key, value, ttl_s, actor=g.actor)
    except ValueError:
        return _browse({"$.ttl_s": _("Expire after must be a number of seconds.")}, 422)
    except HubError as exc:
        found = error_map(exc)
        return _browse({"$.key" if "$" in found else k: v for k, v in found.items()}, 422)
    flash_ok(_("Key %(key)s saved.", key=key))
    return redirect(url_for("web.storage", scope=scope, prefix=request.args.get("prefix", "")))


@web.post("/storage/delete")
@page("editor")
def storage_delete() -> Any:
    scope, key = request.form.get("scope") or "global", request.form.get("key") or ""
    try:
        service.delete_value(runtime(), scope, key, actor=g.actor)
    except HubError as exc:
        flash_error(exc)
    else:
        flash_ok(_("Key %(key)s deleted.", key=key))
    return redirect(url_for("web.storage", scope=scope, prefix=request.form.get("prefix", "")))
