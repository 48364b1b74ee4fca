"""Connections: list, create and edit through a form drawn from the connector's auth schema, test,
delete, and the OAuth2 'Connect' button. The same services as /api/v1/connections do the work."""

from __future__ import annotations

from typing import Any

from flask import abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from hub.connections import NotFound, SecretsRequired, public_view
from hub.current import runtime
from hub.db.models import Connection
from hub.sdk.auth import OAuth2
from hub.sdk.errors import HubError
from hub.services import InvalidInput
from hub.services import connections as service
from hub.services.connections import ConnectionInUse, ConnectorMissing, parse_limits
from hub.web import web
from hub.web.auth import page
from hub.web.common import error_map, flash_error, flash_ok
from hub.web.i18n import connectors
from hub.web.schema_form import FormErrors, build_fields, parse_fields


def _get(db: Any, connection_id: int) -> Connection:
    connection = db.get(Connection, connection_id)
    if connection is None:
        abort(404)
    return connection


def _is_oauth(connector: Any) -> bool:
    return (
        isinstance(getattr(connector, "auth", None), OAuth2) and connector.auth.grant == "authorization_code"
    )


def _in_use(exc: ConnectionInUse) -> str:
    if exc.renaming:
        return _(
            "Connection “%(name)s” is used by enabled recipes %(ids)s; disable them before renaming it.",
            name=exc.name,
            ids=exc.recipe_ids,
        )
    return _(
        "Connection “%(name)s” is used by enabled recipes %(ids)s; disable them first.",
        name=exc.name,
        ids=exc.recipe_ids,
    )


@web.get("/connections")
@page("viewer")
def connections() -> Any:
    rt = runtime()
    with rt.db.transaction() as db:
        rows = [
            public_view(c, rt.registry, rt.vault)
            for c in db.scalars(select(Connection).order_by(Connection.name))
        ]
    names = {c.id: c.name for c in connectors().all()}
    return render_template("connections.html", connections=rows, connector_names=names)


def _limits_from_form(errors: FormErrors) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in ("concurrency_limit", "rate_limit"):
        text = (request.form.get(name) or "").strip()
        if text:
            try:
                data[name] = float(text) if name == "rate_limit" else int(text)
            except ValueError:
                errors[f"$.{name}"] = _("Enter a number.")
    try:
        return parse_limits(data)
    except InvalidInput as exc:
        errors[exc.path] = exc.message
        return {}


@web.route("/connections/new", methods=["GET", "POST"])
@page("editor")
def connection_new() -> Any:
    rt = runtime()
    connector_id = request.values.get("connector") or ""
    connector = connectors().get(connector_id)
    choices = sorted(
        (
            (c.id, c.name or c.id)
            for c in connectors().all()
            if c.needs_connection() or c.connection_schema()["properties"]
        ),
        key=lambda x: x[1].lower(),
    )
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    name = (request.form.get("name") or "").strip()
    if request.method == "POST" and connector is not None and request.form.get("op") == "save":
        form_errors = FormErrors()
        values = parse_fields(
            connector.connection_schema(),
            request.form,
            "c",
            "$.config",
            templatable=False,
            errors=form_errors,
        )
        limits = _limits_from_form(form_errors)
        errors.update(form_errors)
        if not errors:
            try:
                created = service.create_connection(
                    rt, actor=g.actor, name=name, connector_id=connector.id, config=values, limits=limits
                )
                flash_ok(_("Connection “%(name)s” saved.", name=name))
                return redirect(url_for("web.connection_edit", connection_id=created["id"]))
            except HubError as exc:
                errors.update(error_map(exc))
    fields = (
        build_fields(connector.connection_schema(), values, "c", "$.config", templatable=False, errors=errors)
        if connector
        else []
    )
    status = 422 if errors else 200
    return render_template(
        "connection_form.html",
        connection=None,
        connector=connector,
        choices=choices,
        fields=fields,
        name=name,
        errors=errors,
        limits=request.form,
        oauth=False,
    ), status


@web.route("/connections/<int:connection_id>", methods=["GET", "POST"])
@page("viewer")
def connection_edit(connection_id: int) -> Any:
    rt = runtime()
    errors: dict[str, str] = {}
    with rt.db.transaction() as db:
        view = public_view(_get(db, connection_id), rt.registry, rt.vault)
    connector = connectors().get(view["connector"])
    values: dict[str, Any] = dict(view["config"])
    name = view["name"]
    if request.method == "POST":
        if g.role not in ("editor", "admin"):
            abort(403)
        form_errors = FormErrors()
        schema = connector.connection_schema() if connector else {"properties": {}}
        values = parse_fields(schema, request.form, "c", "$.config", templatable=False, errors=form_errors)
        # a non-secret field emptied in the form is cleared; an empty secret keeps its stored value
        for key, spec in schema.get("properties", {}).items():
            secret_or_fixed = spec.get("writeOnly") or spec.get("x-secret") or spec.get("readOnly")
            if key not in values and not secret_or_fixed:
                values[key] = None
        limits = _limits_from_form(form_errors)
        name = (request.form.get("name") or "").strip()
        errors.update(form_errors)
        if not errors:
            try:
                service.update_connection(
                    rt, connection_id, actor=g.actor, name=name, config=values, limits=limits
                )
                flash_ok(_("Connection “%(name)s” saved.", name=name))
                return redirect(url_for("web.connection_edit", connection_id=connection_id))
            except NotFound:
                abort(404)
            except ConnectionInUse as exc:
                errors["$"] = _in_use(exc)
            except SecretsRequired as exc:
                errors["$"] = exc.message
                errors.update(
                    {f"$.config.{n}": _("Enter this secret again, or clear it.") for n in exc.secrets}
                )
            except HubError as exc:
                errors.update(error_map(exc))
        values = {k: v for k, v in values.items() if v is not None}
    secrets_set = {k for k, is_set in view["secrets"].items() if is_set}
    fields = (
        build_fields(
            connector.connection_schema(),
            values,
            "c",
            "$.config",
            templatable=False,
            errors=errors,
            secrets_set=secrets_set,
        )
        if connector
        else []
    )
    return render_template(
        "connection_form.html",
        connection=view,
        connector=connector,
        choices=[],
        fields=fields,
        name=name,
        errors=errors,
        limits=request.form if request.method == "POST" else view,
        oauth=_is_oauth(connector),
    ), 422 if errors else 200


@web.post("/connections/<int:connection_id>/delete")
@page("editor")
def connection_delete(connection_id: int) -> Any:
    try:
        service.delete_connection(runtime(), connection_id, actor=g.actor)
    except NotFound:
        abort(404)
    except ConnectionInUse as exc:
        flash_error(_in_use(exc))
        return redirect(url_for("web.connection_edit", connection_id=connection_id))
    except HubError as exc:
        flash_error(exc)
        return redirect(url_for("web.connection_edit", connection_id=connection_id))
    flash_ok(_("Connection deleted."))
    return redirect(url_for("web.connections"))


@web.post("/connections/<int:connection_id>/test")
@page("editor")
def connection_test(connection_id: int) -> Any:
    """As POST /api/v1/connections/{id}/test: the connector checks the stored credentials."""
    try:
        ok, message = service.check(runtime(), connection_id)
    except NotFound:
        abort(404)
    except ConnectorMissing as exc:
        flash_error(_("Connector “%(id)s” is not installed.", id=exc.connector_id))
        return redirect(url_for("web.connection_edit", connection_id=connection_id))
    if ok:
        flash_ok(_("Test passed: %(message)s", message=message or _("the connection works")))
    else:
        flash_error(_("Test failed: %(message)s", message=message))
    return redirect(url_for("web.connection_edit", connection_id=connection_id))


@web.post("/connections/<int:connection_id>/connect")
@page("editor")
def connection_oauth(connection_id: int) -> Any:
    """Start the OAuth2 consent; the vendor returns the browser to /oauth/callback with our state."""
    from hub.oauth_flow import start

    with runtime().db.transaction() as db:
        connection = _get(db, connection_id)
        try:
            answer = start(connection, None, g.actor)
        except HubError as exc:
            flash_error(exc)
            return redirect(url_for("web.connection_edit", connection_id=connection_id))
    return redirect(answer["authorize_url"])
