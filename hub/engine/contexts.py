"""The one place a connector's Context is built for a connection (actions, polls, webhooks, checks)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from hub.connections import merged_fields
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


def build_context(runtime: Runtime, connector: Any, connection_name: str | None, **extra: Any) -> Context:
    """A Context for the connection named `connection_name` (or none)."""
    fields: dict[str, Any] = {}
    connection_id = None
    if connection_name:
        with runtime.db.read() as session:
            row = session.scalar(select(Connection).where(Connection.name == connection_name))
            if row is None:
                raise AuthError(f"connection '{connection_name}' no longer exists")
            fields, connection_id = merged_fields(row, runtime.vault), row.id
    return connector_context(runtime, connector, connection_id, fields, **extra)
