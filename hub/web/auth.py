"""Sign-in with the hub's users: server-side sessions named by a cookie, role checks on every page,
rate-limited attempts.

Every UI route declares the least role it needs with `@page(role)` or is marked `@open_page`; a route
with neither is refused, as in the API, so a forgotten decorator cannot open a page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import first_admin, web_sessions
from hub.access import DEFAULT_PROJECT_ID, PROJECT_ROLES, Principal, principal_for
from hub.audit import audit
from hub.connections import NotFound
from hub.current import runtime
from hub.db.models import User
from hub.login_limits import LoginLimits
from hub.project_scope import PROJECT_OF, Forbidden, check_objects
from hub.users import authenticate
from hub.web import web
from hub.web.i18n import LANGUAGES

F = TypeVar("F", bound=Callable[..., Any])
ROUTE_ROLES = ("admin", *PROJECT_ROLES)


def limits() -> LoginLimits:
    """The sign-in limits, keyed by the session key every web process shares."""
    secret = current_app.secret_key
    key = secret.encode() if isinstance(secret, str) else bytes(secret or b"")
    return current_app.extensions.setdefault("hub_login_limits", LoginLimits(key))


def current_user() -> User | None:
    """The signed-in user of a live server-side session (hub/web_sessions.py), re-read on every
    request so a revoked or expired session, a disabled user or a changed role takes effect at once."""
    if "web_user" in g:
        return g.web_user
    user = None
    session_id = session.get("sid")
    if session_id is not None:
        settings = runtime().settings
        with runtime().db.transaction() as db:
            user = web_sessions.resolve(
                db, session_id, idle_s=settings.session_idle_s, max_s=settings.session_max_s
            )
            if user is not None:
                g.access = principal_for(db, user)
                db.expunge(user)
        if user is None:
            session.clear()
    g.web_user = user
    if user is not None:
        g.actor, g.role = user.email, user.role
        g.project_id = current_project(g.access, session.get("project"))
        if user.locale in LANGUAGES:
            g.web_locale = user.locale
    return user


def current_project(access: Principal, chosen: Any) -> int | None:
    """The project the pages show: the one picked in the switcher while it is visible, else the
    default project, else the first the user may see (None: no project at all)."""
    visible = access.projects()
    for candidate in (chosen, DEFAULT_PROJECT_ID):
        if isinstance(candidate, int) and (visible is None or candidate in visible):
            return candidate
    return min(visible) if visible else None


def check_page(role: str) -> None:
    """Hub admins for `admin` pages; else the role in the project of the object the URL names (which
    becomes the current project for this page), or in the current project; 404 / 403 otherwise."""
    access: Principal = g.access
    if role == "admin":
        if not access.is_admin:
            abort(403)
        return
    view_args = request.view_args or {}
    if any(argument in view_args for argument in PROJECT_OF):
        owner = require_objects(role, view_args)
        if owner is not None and access.allows(owner, "viewer"):
            g.project_id = owner
        return
    if g.project_id is None or not access.allows(g.project_id, role):
        abort(403)


def require_objects(role: str, named: dict[str, Any]) -> int | None:
    """hub.project_scope.check_objects for objects a form names (a storage scope), as 404 / 403."""
    with runtime().db.transaction() as db:
        try:
            return check_objects(db, g.access, role, named)
        except NotFound:
            abort(404)
        except Forbidden:
            abort(403)


def page(role: str) -> Callable[[F], F]:
    """Signed-in users with at least `role` (hub.access roles, or `admin`); others are sent to sign
    in or refused with 403 (404 for an object of a project they cannot see)."""
    if role not in ROUTE_ROLES:
        raise ValueError(f"unknown role {role!r}")

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
            check_page(role)
            return view(*args, **kwargs)

        guarded.required_role = role  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def open_page(view: F) -> F:
    view.public = True  # type: ignore[attr-defined]
    return view


def can(role: str) -> bool:
    """Whether the signed-in user holds `role` in the current project (`admin`: is a hub admin)."""
    if current_user() is None:
        return False
    if role == "admin":
        return bool(g.access.is_admin)
    return g.project_id is not None and bool(g.access.allows(g.project_id, role))


@web.before_request
def fail_closed() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "public", False) or getattr(view, "required_role", None):
        return
    if request.endpoint == "web.static":
        return
    abort(403)


@web.app_context_processor
def inject_user() -> dict[str, Any]:
    return {"current_user": current_user(), "can": can, "languages": LANGUAGES, "get_locale": get_locale}


def safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect after sign-in would help phishing."""
    if not target:
        return url_for("web.dashboard")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.dashboard")
    return target


@web.route("/login", methods=["GET", "POST"])
@open_page
def login() -> Any:
    error = None
    status = 200
    email = ""
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()
        password = request.form.get("password") or ""
        address = request.remote_addr or "?"
        with runtime().db.read() as db:
            wait = limits().retry_after(db, address, email)
        if wait:
            error = _("Too many failed sign-in attempts. Try again in %(seconds)s seconds.", seconds=wait)
            page_html = render_template("login.html", error=error, email=email)
            return page_html, 429, {"Retry-After": str(wait)}
        with runtime().db.transaction() as db:
            user = authenticate(db, email, password)
            session_id = None
            if user is not None:
                session_id = begin_session(db, user)
                audit(db, user.email, "user.login", "user", str(user.id))
                limits().succeeded(db, address, email)
            else:
                limits().failed(db, address, email)
        if session_id is None:
            error, status = _("The email or password is wrong, or the account is disabled."), 401
        else:
            keep_session_cookie(session_id)
            return redirect(safe_next(request.args.get("next")))
    return render_template("login.html", error=error, email=email, no_users=_no_users()), status


def _no_users() -> bool:
    """The sign-in page then points to the setup link instead of to an admin."""
    with runtime().db.transaction() as db:
        return not first_admin.has_users(db)


def begin_session(db: Session, user: User) -> str:
    """A server-side session for `user`; signing in again replaces the browser's earlier one."""
    if session.get("sid"):
        web_sessions.end(db, session["sid"])
    return web_sessions.start(db, user.id, runtime().settings.session_max_s)


def keep_session_cookie(session_id: str) -> None:
    """A fresh cookie on sign-in: nothing from before carries over but the chosen language."""
    keep_locale = session.get("locale")
    session.clear()
    session.permanent = True
    session["sid"] = session_id
    if keep_locale:
        session["locale"] = keep_locale


@web.post("/logout")
@open_page
def logout() -> Any:
    session_id = session.get("sid")
    if session_id is not None:
        with runtime().db.transaction() as db:
            web_sessions.end(db, session_id)
    session.clear()
    return redirect(url_for("web.login"))


@web.post("/language")
@open_page
def set_language() -> Any:
    """Anyone may pick a language; for a signed-in user it is stored as their setting."""
    chosen = request.form.get("language")
    if chosen not in LANGUAGES:
        abort(400)
    session["locale"] = chosen
    user = current_user()
    if user is not None:
        with runtime().db.transaction() as db:
            stored = db.scalar(select(User).where(User.id == user.id))
            if stored is not None:
                stored.locale = chosen
    return redirect(safe_next(request.form.get("next")))


@web.after_request
def page_headers(response: Any) -> Any:
    """Pages hold personal data and one-time tokens: not cached, not framed, scripts only from us."""
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    )
    return response


@web.errorhandler(CSRFError)
def csrf_refused(exc: CSRFError) -> Any:
    message = _(
        "This form has expired or was not sent by this site (%(reason)s). Reload the page and try again.",
        reason=exc.description,
    )
    return render_template("error.html", code=400, message=message), 400


@web.errorhandler(403)
def forbidden(_exc: Any) -> Any:
    return render_template("error.html", code=403, message=_("Your role does not allow this page.")), 403


@web.errorhandler(404)
def missing(_exc: Any) -> Any:
    return render_template("error.html", code=404, message=_("This page does not exist.")), 404


def unrouted(exc: Any) -> Any:
    """An address no route matches (outside the API, which answers in JSON): the UI's own page, in
    the reader's language, instead of the server's English one."""
    if exc.code == 404:
        return missing(exc)
    message = _("This address does not accept this kind of request.")
    return render_template("error.html", code=exc.code, message=message), exc.code
