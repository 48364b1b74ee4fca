"""The browser UI: server-rendered pages on the core modules, with session sign-in, CSRF and roles.

`init_web(app)` registers the blueprint at `/` and the extensions it needs (CSRF, Babel). CSRF
protection applies to every form of the UI; the JSON API, the webhook ingress and the OAuth callback
authenticate in their own ways and are exempt.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask
from flask_wtf.csrf import CSRFProtect

web = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/assets"
)
csrf = CSRFProtect()


def init_web(app: Flask) -> None:
    """Mount the UI on `app`; CSRF covers every blueprint except those that authenticate otherwise."""
    from hub.web import i18n

    app.config["WTF_CSRF_TIME_LIMIT"] = None  # the token is bound to the session, which expires itself
    # The cookie lives as long as a session may (HUB_SESSION_MAX_S); hub/web_sessions.py decides when it ends.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=app.extensions["hub"].settings.session_max_s)
    csrf.init_app(app)
    for name in ("api", "ingress", "oauth"):
        blueprint = app.blueprints.get(name)
        if blueprint is not None:
            csrf.exempt(blueprint)
    i18n.init_babel(app)
    from hub.web.common import project_label, role_label, status_label

    app.jinja_env.globals.update(  # for imported macros too
        role_label=role_label,
        status_label=status_label,
        trigger_label=i18n.trigger_label,
        project_label=project_label,
    )

    from hub.web import (  # noqa: F401  (modules register their routes on the blueprint)
        auth,
        run_live,
        views_connections,
        views_dashboard,
        views_editor,
        views_lifecycle,
        views_projects,
        views_recipes,
        views_runs,
        views_secrets,
        views_setup,
        views_stats,
        views_storage,
        views_tables,
        views_templates,
        views_users,
    )

    app.register_blueprint(web)
    app.extensions["hub_error_page"] = auth.unrouted  # for paths no route matches (hub/api/errors.py)
