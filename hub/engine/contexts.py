"""The one place a connector's Context is built for a connection (actions, polls, webhooks, checks)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.connections import find_connection, merged_fields
from hub.db.models import Connection
from hub.engine.stores import DbSecretStore, DbTokenCache
from hub.sdk.context import Context
from hub.sdk.errors import AuthError

if TYPE_CHECKING:
    from hub.runtime import Runtime


def connector_context(
    runtime: Runtime, connector: Any, connection_id: int | None, fields: dict[str, Any], **extra: Any
) -> Context:
    """A Context over a connection's merged fields (none without a connection), with the database-
    backed token cache, and a secret store when there is a connection to keep secrets for."""
    return Context(
        connector=connector,
        connection=dict(fields),
        connection_id=connection_id,
        allow_private_network=runtime.settings.allow_private_network,
        cache=DbTokenCache(runtime.db, runtime.vault),
        secret_store=DbSecretStore(runtime.db, runtime.vault, connector, connection_id)
        if connection_id
        else None,
        **extra,
    )


def load_connection(runtime: Runtime, name: str) -> tuple[Connection | None, dict[str, Any]]:
    """The connection named `name` and its merged fields (secrets opened), or (None, {})."""
    with runtime.db.read() as session:
        row = find_connection(session, name)
        return (row, merged_fields(row, runtime.vault)) if row is not None else (None, {})


def build_context(runtime: Runtime, connector: Any, connection_name: str | None, **extra: Any) -> Context:
    """A Context for the connection named `connection_name` (or none)."""
    row, fields = load_connection(runtime, connection_name) if connection_name else (None, {})
    if connection_name and row is None:
        raise AuthError(f"connection '{connection_name}' no longer exists")
    return connector_context(runtime, connector, row.id if row else None, fields, **extra)
