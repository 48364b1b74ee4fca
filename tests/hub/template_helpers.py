"""Helpers for the template tests: stand-in connections and filling a template with its examples."""

from __future__ import annotations

from typing import Any

from hub.access import DEFAULT_PROJECT_ID
from hub.db.models import Connection
from hub.runtime import Runtime
from hub.templates.catalogue import Template


def dummy_connection(rt: Runtime, name: str, connector: str, project_id: int = DEFAULT_PROJECT_ID) -> int:
    """A connection row of `connector` without credentials: enough for a recipe to name it (recipe
    validation reads only its connector and project), never for a call to a vendor."""
    with rt.db.transaction() as session:
        connection = Connection(name=name, connector=connector, config={}, project_id=project_id)
        session.add(connection)
        session.flush()
        return connection.id


def example_values(rt: Runtime, template: Template, project_id: int = DEFAULT_PROJECT_ID) -> dict[str, Any]:
    """Each value parameter's example and, for each connection parameter, the id of a new stand-in
    connection of its connector in `project_id`."""
    values: dict[str, Any] = {}
    for parameter in template.parameters:
        if parameter.kind == "connection":
            name = f"{template.name}-{parameter.name}-{project_id}"
            values[parameter.name] = dummy_connection(rt, name, str(parameter.connector), project_id)
        else:
            values[parameter.name] = parameter.example
    return values
