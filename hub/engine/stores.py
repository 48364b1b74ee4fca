"""Database-backed TokenCache and SecretStore handed to connectors through their Context."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from hub.connections import merged_fields, store_fields
from hub.db.models import CacheEntry, Connection, utcnow
from hub.db.session import Database
from hub.sdk.connector import Connector
from hub.vault import Vault


class DbTokenCache:
    """Shared by every worker; values are encrypted, since cached vendor tokens are secrets too."""

    def __init__(self, db: Database, vault: Vault) -> None:
        self.db = db
        self.vault = vault

    def get(self, key: str) -> Any | None:
        with self.db.transaction() as session:
            entry = session.get(CacheEntry, key)
            if entry is None or entry.expires_at <= utcnow():
                return None
            return self.vault.decrypt(entry.value).get("v")

    def set(self, key: str, value: Any, ttl_s: float) -> None:
        with self.db.transaction() as session:
            entry = session.get(CacheEntry, key)
            token = self.vault.encrypt({"v": value})
            expires = utcnow() + timedelta(seconds=ttl_s)
            if entry is None:
                session.add(CacheEntry(key=key, value=token, expires_at=expires))
            else:
                entry.value, entry.expires_at = token, expires

    def delete(self, key: str) -> None:
        with self.db.transaction() as session:
            session.execute(delete(CacheEntry).where(CacheEntry.key == key))


class DbSecretStore:
    """Read-modify-write of a connection under a row lock, so concurrent token refreshes keep the newest."""

    def __init__(self, db: Database, vault: Vault, connector: Connector, connection_id: int) -> None:
        self.db = db
        self.vault = vault
        self.connector = connector
        self.connection_id = connection_id

    def update(self, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> dict[str, Any]:
        with self.db.transaction() as session:
            row = session.scalars(
                select(Connection).where(Connection.id == self.connection_id).with_for_update()
            ).one()
            current = merged_fields(row, self.vault)
            updates = change(dict(current))
            if updates:
                current.update(updates)
                store_fields(row, self.connector, current, self.vault)
                row.revision += 1
            return current
