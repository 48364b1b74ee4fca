"""Recipe lifecycle in the UI: restore an earlier version, and set or end an A/B split between versions
(the same services as POST /api/v1/recipes/{id}/versions/{n}/restore and /api/v1/recipes/{id}/split)."""

from __future__ import annotations

from typing import Any

from flask import abort, g, redirect, request, url_for
from flask_babel import gettext as _

from hub.connections import NotFound
from hub.current import runtime
from hub.recipe_split import parse_weights
from hub.sdk.errors import HubError
from hub.services import recipes as service
from hub.services import splits
from hub.web import web
from hub.web.auth import page
from hub.web.common import flash_error, flash_ok

WEIGHT_FIELD = "weight-"  # the split form's fields: weight-<version>, blank for "not in the split"


@web.post("/recipes/<int:recipe_id>/versions/<int:version>/restore")
@page("editor")
def recipe_restore(recipe_id: int, version: int) -> Any:
    try:
        saved = service.restore_version(runtime(), recipe_id, version, actor=g.actor)
    except NotFound:
        abort(404)
    except HubError as exc:  # the old version no longer validates (a connection it names is gone)
        flash_error(_("Version %(n)s cannot be restored: %(error)s", n=version, error=exc.message))
        return redirect(url_for("web.recipe_version", recipe_id=recipe_id, version=version))
    for problem in saved.warnings:
        flash_error(problem)
    flash_ok(_("Version %(old)s restored as version %(new)s.", old=version, new=saved.version))
    return redirect(url_for("web.recipe_page", recipe_id=recipe_id))


def _form_weights() -> dict[str, Any]:
    """The split form as the API's body: {"versions": {"3": 50, ...}}, blank fields left out."""
    versions: dict[str, Any] = {}
    for name, value in request.form.items():
        if name.startswith(WEIGHT_FIELD) and value.strip():
            text = value.strip()
            versions[name[len(WEIGHT_FIELD) :]] = int(text) if text.isdigit() else text
    return {"versions": versions}


@web.post("/recipes/<int:recipe_id>/split")
@page("editor")
def recipe_split_set(recipe_id: int) -> Any:
    try:
        splits.set_split(runtime(), recipe_id, parse_weights(_form_weights()), actor=g.actor)
    except NotFound:
        abort(404)
    except HubError as exc:
        flash_error(_("The split was not changed: %(error)s", error=exc.message))
    else:
        flash_ok(_("New runs are now split between the versions by weight."))
    return redirect(url_for("web.recipe_page", recipe_id=recipe_id, _anchor="split"))


@web.post("/recipes/<int:recipe_id>/split/end")
@page("editor")
def recipe_split_end(recipe_id: int) -> Any:
    try:
        split = splits.end_split(runtime(), recipe_id, actor=g.actor)
    except NotFound:
        abort(404)
    flash_ok(_("Split ended: every new run starts version %(n)s.", n=split["current_version"]))
    return redirect(url_for("web.recipe_page", recipe_id=recipe_id, _anchor="split"))
