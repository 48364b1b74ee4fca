"""Connections: named credentials for one connector, secret fields encrypted in the vault."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models import Connection
from hub.recipes import validate_against
from hub.registry import Registry
from hub.sdk.connector import Connector
from hub.sdk.errors import HubError, RecipeError
from hub.vault import Vault

NAME_MAX = 200  # connections.name is VARCHAR(200)


class NotFound(HubError):
    """The named object does not exist."""

    code = "not_found"


class Conflict(HubError):
    """The change clashes with what exists (a duplicate name, an object still in use)."""

    code = "conflict"


def connector_or_error(registry: Registry, connector_id: str) -> Connector:
    connector = registry.get(connector_id)
    if connector is None:
        raise RecipeError(f"$.connector: unknown connector '{connector_id}'", path="$.connector")
    return connector


def merged_fields(connection: Connection, vault: Vault) -> dict[str, Any]:
    """The connection's fields with secrets decrypted; only for handing to a connector."""
    data = dict(connection.config or {})
    if connection.secrets:
        data.update(vault.decrypt(connection.secrets))
    return data


def store_fields(connection: Connection, connector: Connector, fields: dict[str, Any], vault: Vault) -> None:
    secret_names = connector.secret_fields()
    secrets = {k: v for k, v in fields.items() if k in secret_names and v is not None}
    connection.config = {k: v for k, v in fields.items() if k not in secret_names and v is not None}
    connection.secrets = vault.encrypt(secrets) if secrets else None


def _validate(connector: Connector, fields: dict[str, Any]) -> None:
    present = {k: v for k, v in fields.items() if v is not None}
    validate_against(connector.connection_schema(), present, "$.config", allow_templates=False)


def _check_name(name: str) -> None:
    """A name that fits its column (a longer one is a 500 on PostgreSQL, silently kept on SQLite)."""
    if not name or not name.strip():
        raise RecipeError("$.name: a connection needs a name", path="$.name")
    if len(name) > NAME_MAX:
        raise RecipeError(f"$.name: at most {NAME_MAX} characters", path="$.name")


def create_connection(
    session: Session,
    registry: Registry,
    vault: Vault,
    *,
    name: str,
    connector_id: str,
    config: dict[str, Any],
    concurrency_limit: int | None = None,
    rate_limit: float | None = None,
) -> Connection:
    connector = connector_or_error(registry, connector_id)
    _check_name(name)
    if session.scalar(select(Connection.id).where(Connection.name == name)) is not None:
        raise Conflict(f"a connection named '{name}' already exists")
    _validate(connector, config)
    connection = Connection(
        name=name,
        connector=connector.id,
        concurrency_limit=concurrency_limit
        if concurrency_limit is not None
        else connector.default_concurrency,
        rate_limit=rate_limit if rate_limit is not None else connector.default_rate_limit,
    )
    store_fields(connection, connector, config, vault)
    session.add(connection)
    session.flush()
    return connection


def update_connection(
    session: Session,
    registry: Registry,
    vault: Vault,
    connection: Connection,
    *,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    concurrency_limit: int | None = None,
    rate_limit: float | None = None,
) -> Connection:
    """Fields left out keep their value (secrets included); a field given as null is cleared."""
    connector = connector_or_error(registry, connection.connector)
    if name and name != connection.name:
        _check_name(name)
        if session.scalar(select(Connection.id).where(Connection.name == name)) is not None:
            raise Conflict(f"a connection named '{name}' already exists")
        connection.name = name
    if config is not None:
        fields = merged_fields(connection, vault)
        fields.update(config)
        _validate(connector, fields)
        store_fields(connection, connector, fields, vault)
        connection.revision += 1
    if concurrency_limit is not None:
        connection.concurrency_limit = concurrency_limit or None
    if rate_limit is not None:
        connection.rate_limit = rate_limit or None
    return connection


def public_view(connection: Connection, registry: Registry, vault: Vault) -> dict[str, Any]:
    """What the API shows: secret fields only as set / not set, never their values."""
    connector = registry.get(connection.connector)
    secret_names = connector.secret_fields() if connector else set()
    stored = vault.decrypt(connection.secrets) if connection.secrets else {}
    return {
        "id": connection.id,
        "name": connection.name,
        "connector": connection.connector,
        "config": dict(connection.config or {}),
        "secrets": {name: name in stored for name in sorted(secret_names)},
        "concurrency_limit": connection.concurrency_limit,
        "rate_limit": connection.rate_limit,
        "created_at": connection.created_at.isoformat(),
        "updated_at": connection.updated_at.isoformat(),
    }


def lookup_by_name(session: Session) -> Callable[[str], str | None]:
    """name -> connector id, for recipe validation."""

    def lookup(name: str) -> str | None:
        return session.scalar(select(Connection.connector).where(Connection.name == name))

    return lookup


def rotate_all(session: Session, vault: Vault) -> int:
    """Re-encrypt every stored secret under the newest key; returns how many rows changed."""
    count = 0
    for connection in session.scalars(select(Connection).where(Connection.secrets.is_not(None))):
        connection.secrets = vault.rotate_token(connection.secrets)
        count += 1
    return count
