"""The first admin, made in the browser from the one-time link `hub serve` prints (hub/first_admin.py)."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from hub import first_admin
from hub.current import runtime
from hub.sdk.errors import HubError
from hub.users import MIN_PASSWORD
from hub.web import web
from hub.web.auth import begin_session, keep_session_cookie, open_page
from hub.web.common import error_map


def _in_words(errors: dict[str, str]) -> dict[str, str]:
    """The user rules' messages (hub.users) in the page's language, by the field they name."""
    known = {
        "$.email": _("This is not an email address."),
        "$.password": _("The password needs at least %(count)s characters.", count=MIN_PASSWORD),
    }
    return {path: known.get(path, message) for path, message in errors.items()}


def _closed() -> Any:
    with runtime().db.transaction() as db:
        has_users = first_admin.has_users(db)
    if has_users:
        message = _("This hub already has users. Sign in, or ask an admin for an account.")
    else:
        message = _("This setup link is not valid. Use the link printed by the latest start of hub serve.")
    return render_template("error.html", code=404, message=message), 404


@web.route("/setup/<token>", methods=["GET", "POST"])
@open_page
def setup(token: str) -> Any:
    """Open only with the live token and while no user exists; the form is CSRF-protected as every other."""
    with runtime().db.transaction() as db:
        usable = first_admin.is_open(db, token)
    if not usable:
        return _closed()
    errors: dict[str, str] = {}
    email = (request.form.get("email") or "").strip()
    if request.method == "POST":
        password = request.form.get("password") or ""
        if password != (request.form.get("password_again") or ""):
            errors["$.password_again"] = _("The two passwords differ.")
        else:
            try:
                with runtime().db.transaction() as db:
                    user = first_admin.create_admin(db, token, email, password)
                    session_id = begin_session(db, user)
            except first_admin.SetupClosed:
                return _closed()
            except HubError as exc:
                errors = _in_words(error_map(exc))
            else:
                keep_session_cookie(session_id)
                return redirect(url_for("web.dashboard"))
    status = 422 if errors else 200
    return render_template("setup.html", errors=errors, email=email), status
