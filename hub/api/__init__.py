"""The /api/v1 blueprint: one module per resource, bearer tokens, JSON errors, an OpenAPI document."""

from __future__ import annotations

from flask import Blueprint

api_blueprint = Blueprint("api", __name__)

from hub.api import (  # noqa: E402  (modules register their routes and handlers on the blueprint)
    auth,
    connections,
    connectors,
    errors,
    openapi,
    projects,
    recipes,
    runs,
    secrets,
    stats,
    storage,
    tables,
    templates,
    users,
)

__all__ = [
    "api_blueprint",
    "auth",
    "connections",
    "connectors",
    "errors",
    "openapi",
    "projects",
    "recipes",
    "runs",
    "secrets",
    "stats",
    "storage",
    "tables",
    "templates",
    "users",
]
