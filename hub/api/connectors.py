"""GET /connectors and /connectors/{id}: metadata and JSON Schemas of installed connectors."""

from __future__ import annotations

from flask import Response

from hub.api import api_blueprint
from hub.api.auth import requires
from hub.api.common import reply
from hub.connections import NotFound
from hub.current import runtime


@api_blueprint.get("/connectors")
@requires("viewer")
def list_connectors() -> Response:
    rt = runtime()
    return reply(
        {
            "connectors": [
                {
                    "id": c.id,
                    "name": c.name,
                    "category": c.category,
                    "icon": c.icon,
                    "docs_url": c.docs_url,
                    "source": rt.registry.source(c.id),
                    "triggers": list(c.trigger_map),
                    "actions": list(c.action_map),
                }
                for c in rt.registry.all()
            ]
        }
    )


@api_blueprint.get("/connectors/<connector_id>")
@requires("viewer")
def get_connector(connector_id: str) -> Response:
    connector = runtime().registry.get(connector_id)
    if connector is None:
        raise NotFound(f"connector '{connector_id}' is not installed")
    return reply(connector.describe())
