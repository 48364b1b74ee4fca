"""Connection operations: create, update (rename guarded), delete (guarded), check the credentials.

A connection is referred to by name from recipe documents, so renaming or deleting one that an
enabled recipe uses would break that recipe: both are refused until those recipes are disabled.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from hub import connections
from hub.audit import audit
from hub.connections import Conflict, NotFound, public_view
from hub.db.models import Connection, Recipe
from hub.engine.poller import check_connection
from hub.recipe_index import current_versions
from hub.recipes import iter_steps
from hub.runtime import Runtime
from hub.sdk.errors import HubError
from hub.services import InvalidInput

MAX_CONCURRENCY = 10_000  # parallel calls per connection; beyond it a limit means nothing
MAX_RATE = 1_000_000.0  # calls per second


class ConnectionInUse(Conflict):
    """Enabled recipes use the connection by name; `recipe_ids` names them, `renaming` says why."""

    def __init__(self, name: str, recipe_ids: list[int], *, renaming: bool) -> None:
        if renaming:
            message = (
                f"connection '{name}' is used by enabled recipe(s) {recipe_ids} by name; "
                "disable them before renaming it"
            )
        else:
            message = f"connection '{name}' is used by enabled recipe(s) {recipe_ids}; disable them first"
        super().__init__(message)
        self.name, self.recipe_ids, self.renaming = name, recipe_ids, renaming


class ConnectorMissing(HubError):
    """The connection's connector is not installed here, so nothing can check it."""

    code = "connector_missing"

    def __init__(self, connector_id: str) -> None:
        super().__init__(f"connector '{connector_id}' is not installed")
        self.connector_id = connector_id


def parse_limits(data: dict[str, Any]) -> dict[str, Any]:
    """concurrency_limit (a whole number) and rate_limit (per second); 0 clears, null or absent keeps."""
    limits: dict[str, Any] = {}
    for name, whole, largest in (
        ("concurrency_limit", True, MAX_CONCURRENCY),
        ("rate_limit", False, MAX_RATE),
    ):
        value = data.get(name)
        if value is None:
            continue
        number = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
        if not number or not 0 <= value <= largest or (whole and value != int(value)):
            kind = "a whole number" if whole else "a number"
            raise InvalidInput(f"$.{name}: must be {kind} from 0 to {largest}", path=f"$.{name}")
        limits[name] = int(value) if whole else float(value)
    return limits


def _get(session: Session, connection_id: int) -> Connection:
    connection = session.get(Connection, connection_id)
    if connection is None:
        raise NotFound(f"connection {connection_id} not found")
    return connection


def enabled_recipes_using(session: Session, name: str) -> list[int]:
    """Ids of the enabled recipes whose current version names the connection `name`."""
    rows = session.execute(current_versions(Recipe.deleted_at.is_(None), Recipe.enabled.is_(True))).all()
    users = []
    for recipe_id, _name, _version, document in rows:
        names = {document["trigger"].get("connection")} | {
            s.get("connection") for _phase, _path, s in iter_steps(document)
        }
        if name in names:
            users.append(recipe_id)
    return users


def create_connection(
    rt: Runtime, *, actor: str, name: str, connector_id: str, config: dict[str, Any], limits: dict[str, Any]
) -> dict[str, Any]:
    """Store a new connection (secrets sealed in the vault); answers its public view."""
    with rt.db.transaction() as session:
        connection = connections.create_connection(
            session, rt.registry, rt.vault, name=name, connector_id=connector_id, config=config, **limits
        )
        details = {"name": connection.name, "connector": connection.connector}
        audit(session, actor, "connection.create", "connection", str(connection.id), details)
        return public_view(connection, rt.registry, rt.vault)


def update_connection(
    rt: Runtime,
    connection_id: int,
    *,
    actor: str,
    name: str | None,
    config: dict[str, Any] | None,
    limits: dict[str, Any],
) -> dict[str, Any]:
    """Rename and/or change fields (null clears one, absent keeps it); answers the public view.

    Raises ConnectionInUse for a rename while enabled recipes use the old name.
    """
    with rt.db.transaction() as session:
        connection = _get(session, connection_id)
        renaming = name is not None and name != connection.name
        if renaming and (users := enabled_recipes_using(session, connection.name)):
            raise ConnectionInUse(connection.name, users, renaming=True)
        connections.update_connection(
            session, rt.registry, rt.vault, connection, name=name, config=config, **limits
        )
        details = {"fields": sorted((config or {}).keys())}
        audit(session, actor, "connection.update", "connection", str(connection_id), details)
        return public_view(connection, rt.registry, rt.vault)


def delete_connection(rt: Runtime, connection_id: int, *, actor: str) -> None:
    """Raises ConnectionInUse while enabled recipes use the connection."""
    with rt.db.transaction() as session:
        connection = _get(session, connection_id)
        if users := enabled_recipes_using(session, connection.name):
            raise ConnectionInUse(connection.name, users, renaming=False)
        session.delete(connection)
        details = {"name": connection.name}
        audit(session, actor, "connection.delete", "connection", str(connection_id), details)


def check(rt: Runtime, connection_id: int) -> tuple[bool, str | None]:
    """Ask the connector to check the stored credentials: (ok, message with secrets redacted)."""
    with rt.db.transaction() as session:
        connection = _get(session, connection_id)
        name, connector_id = connection.name, connection.connector
    connector = rt.registry.get(connector_id)
    if connector is None:
        raise ConnectorMissing(connector_id)
    return check_connection(rt, connector, name)
