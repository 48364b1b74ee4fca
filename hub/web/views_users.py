"""Users and API tokens: admins only. Creating, role changes, disabling, tokens shown once."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from hub.connections import NotFound
from hub.current import runtime
from hub.db.models import ApiToken, User
from hub.sdk.errors import HubError
from hub.services import users as service
from hub.services.users import SelfDemotion
from hub.users import ROLES
from hub.web import web
from hub.web.auth import page
from hub.web.common import error_map, flash_error, flash_ok


def _listing(errors: dict[str, str] | None = None, new_token: str | None = None, status: int = 200) -> Any:
    with runtime().db.transaction() as db:
        users = list(db.scalars(select(User).order_by(User.email)))
        tokens = list(db.scalars(select(ApiToken).order_by(ApiToken.id.desc())))
        emails = {u.id: u.email for u in users}
        db.expunge_all()
    return render_template(
        "users.html",
        users=users,
        tokens=tokens,
        emails=emails,
        roles=ROLES,
        errors=errors or {},
        new_token=new_token,
        form=request.form,
    ), status


@web.get("/users")
@page("admin")
def users() -> Any:
    return _listing()


@web.post("/users")
@page("admin")
def user_create() -> Any:
    email = request.form.get("email") or ""
    role = request.form.get("role") or ""
    password = request.form.get("password") or None
    try:
        service.create_user(runtime(), email, role, password=password, actor=g.actor)
    except HubError as exc:
        return _listing(error_map(exc), status=422)
    flash_ok(_("User %(email)s created.", email=email.strip().lower()))
    return redirect(url_for("web.users"))


@web.post("/users/<int:user_id>")
@page("admin")
def user_update(user_id: int) -> Any:
    try:
        service.update_user(
            runtime(),
            user_id,
            role=request.form.get("role"),
            disabled=request.form.get("disabled") == "true",
            password=request.form.get("password") or None,
            actor=g.actor,
            acting_user_id=g.web_user.id,
        )
    except NotFound:
        flash_error(_("No such user."))
        return redirect(url_for("web.users"))
    except SelfDemotion:
        flash_error(_("You cannot demote or disable yourself."))
        return redirect(url_for("web.users"))
    except HubError as exc:
        flash_error(exc)
        return redirect(url_for("web.users"))
    flash_ok(_("User updated."))
    return redirect(url_for("web.users"))


@web.post("/users/<int:user_id>/tokens")
@page("admin")
def token_create(user_id: int) -> Any:
    name = (request.form.get("name") or "api").strip()[:200]
    try:
        token = service.create_token(runtime(), user_id, name, actor=g.actor)
    except NotFound:
        flash_error(_("No such user."))
        return redirect(url_for("web.users"))
    return _listing(new_token=token.raw)


@web.post("/tokens/<int:token_id>/revoke")
@page("admin")
def token_revoke(token_id: int) -> Any:
    try:
        service.revoke_token(runtime(), token_id, actor=g.actor)
    except HubError as exc:
        flash_error(exc)
    else:
        flash_ok(_("Token revoked."))
    return redirect(url_for("web.users"))
