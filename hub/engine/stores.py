"""Database-backed TokenCache and SecretStore handed to connectors through their Context."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.connections import merged_fields, store_fields
from hub.db.models import CacheEntry, Connection, utcnow
from hub.db.session import Database
from hub.sdk.connector import Connector
from hub.sdk.context import Fetch, key_lock
from hub.sdk.errors import VaultError
from hub.vault import Binding, Vault

LEASE_S = 30.0  # longest a token fetch may hold others back; past it they fetch themselves
LEASE_POLL_S = 0.05


def cache_binding(key: str) -> Binding:
    """A cached value opens only under its own key, so one cannot be copied over another."""
    return Binding("cache_entries", key, "value")


def rotate_cache(session: Session, vault: Vault, *, legacy_only: bool = False) -> int:
    """Re-seal cached values under the newest key (only legacy Fernet ones if `legacy_only`). Lease
    rows hold an owner id, not a token; an unreadable value is dropped, as a cache may (it is refetched)."""
    count = 0
    for entry in session.scalars(select(CacheEntry).where(~CacheEntry.key.startswith("lease:"))):
        if legacy_only and vault.is_current(entry.value):
            continue
        try:
            entry.value = vault.rotate_token(entry.value, cache_binding(entry.key))
        except VaultError:
            session.delete(entry)
        count += 1
    return count


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
            return self.vault.decrypt(entry.value, cache_binding(key)).get("v")

    def set(self, key: str, value: Any, ttl_s: float) -> None:
        with self.db.transaction() as session:
            entry = session.get(CacheEntry, key)
            token = self.vault.encrypt({"v": value}, cache_binding(key))
            expires = utcnow() + timedelta(seconds=ttl_s)
            if entry is None:
                session.add(CacheEntry(key=key, value=token, expires_at=expires))
            else:
                entry.value, entry.expires_at = token, expires

    def delete(self, key: str) -> None:
        with self.db.transaction() as session:
            session.execute(delete(CacheEntry).where(CacheEntry.key == key))

    def get_or_fetch(self, key: str, fetch: Fetch, *, stale: Any = None) -> Any:
        """The cached value, or one fetched by a single caller across threads and processes.

        Threads of this process queue on the key's lock; processes race for a lease row (an insert
        that only one wins, on SQLite and PostgreSQL alike). A loser waits for the winner's value
        and fetches itself only when the lease runs out (the winner died or hangs)."""
        with key_lock(key):
            give_up = time.monotonic() + LEASE_S
            while True:
                value = self.get(key)
                if value is not None and (stale is None or value != stale):
                    return value
                owner = self._take_lease(key)
                if owner is not None or time.monotonic() >= give_up:
                    break
                time.sleep(LEASE_POLL_S)
            try:
                if owner is not None:  # the value may have landed between our read and the lease
                    value = self.get(key)
                    if value is not None and (stale is None or value != stale):
                        return value
                if value is not None:
                    self.delete(key)  # refused: nobody reuses it, even if the fetch below fails
                value, ttl_s = fetch()
                self.set(key, value, ttl_s)
                return value
            finally:
                if owner is not None:
                    self._drop_lease(key, owner)

    def _take_lease(self, key: str) -> str | None:
        """A fresh owner id when this caller now holds the key's lease, None when another does."""
        lease, owner, now = _lease_key(key), secrets.token_hex(8), utcnow()
        try:
            with self.db.transaction() as session:
                session.execute(
                    delete(CacheEntry).where(CacheEntry.key == lease, CacheEntry.expires_at <= now)
                )
                session.add(CacheEntry(key=lease, value=owner, expires_at=now + timedelta(seconds=LEASE_S)))
        except IntegrityError:
            return None
        return owner

    def _drop_lease(self, key: str, owner: str) -> None:
        with self.db.transaction() as session:
            session.execute(
                delete(CacheEntry).where(CacheEntry.key == _lease_key(key), CacheEntry.value == owner)
            )


def _lease_key(key: str) -> str:
    return f"lease:{key}"[:255]


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
