"""create_app(): the Flask app with its blueprints; the runtime it serves is built outside Flask."""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response, jsonify
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from sqlalchemy import func, select

from hub.api import api_blueprint
from hub.config import Settings
from hub.db.models import Run
from hub.ids import IdConverter
from hub.ingress import HookFastPath, ingress
from hub.oauth_flow import oauth_callback
from hub.runtime import Runtime
from hub.web import init_web


def run_counts(rt: Runtime) -> dict[str, int]:
    with rt.db.transaction() as session:
        return dict(session.execute(select(Run.status, func.count()).group_by(Run.status)).all())


class SessionsForPeople(SecureCookieSessionInterface):
    """No cookie session for vendor webhooks: nothing there reads one, and opening it (a signing
    serializer built per request) is a measurable part of the ingress path."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith("/hooks/"):
            return self.null_session_class()
        return super().open_session(app, request)


def create_app(rt: Runtime | None = None, settings: Settings | None = None) -> Flask:
    rt = rt or Runtime.create(settings)
    app = Flask(__name__)
    app.url_map.converters["int"] = IdConverter  # before any route: ids beyond 64 bits match none
    app.session_interface = SessionsForPeople()
    app.config.update(
        SECRET_KEY=rt.settings.flask_secret_key(),
        MAX_CONTENT_LENGTH=None,  # ingress enforces its own limit while reading, chunked bodies included
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=rt.settings.base_url.startswith("https://"),
        JSON_SORT_KEYS=False,
    )
    app.extensions["hub"] = rt
    rt.metrics.watch_runs(lambda: run_counts(rt))

    app.register_blueprint(ingress)
    app.wsgi_app = HookFastPath(app.wsgi_app, rt)  # type: ignore[method-assign]
    app.register_blueprint(oauth_callback)
    app.register_blueprint(api_blueprint, url_prefix="/api/v1")

    init_web(app)  # the browser UI at /, after the blueprints it exempts from CSRF

    @app.get("/healthz")
    def healthz() -> Any:
        if rt.db.ping():
            return jsonify(status="ok")
        return jsonify(status="unavailable", database="down"), 503

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(rt.metrics.render(), mimetype="text/plain; version=0.0.4")

    return app
