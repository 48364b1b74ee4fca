"""What a connector function receives: its connection, an HTTP client, caches and run identity."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from hub.sdk.connector import Connector
    from hub.sdk.http import HttpClient


Fetch = Callable[[], tuple[Any, float]]


class TokenCache(Protocol):
    """A cache shared by every worker (vendor access tokens live here until they expire)."""

    def get(self, key: str) -> Any | None: ...

    def set(self, key: str, value: Any, ttl_s: float) -> None: ...

    def delete(self, key: str) -> None: ...

    def get_or_fetch(self, key: str, fetch: Fetch, *, stale: Any = None) -> Any:
        """The cached value, or `fetch()` -> (value, ttl_s) stored; concurrent callers fetch once.

        `stale` is a value the caller saw the vendor refuse: a cached value equal to it is dropped
        and fetched again, while a newer one (another worker already renewed it) is returned."""
        ...


_key_locks: dict[str, threading.Lock] = {}
_key_locks_guard = threading.Lock()


def key_lock(key: str) -> threading.Lock:
    """The process-wide lock of one cache key (one lock per key ever used: keys are per connection)."""
    with _key_locks_guard:
        return _key_locks.setdefault(key, threading.Lock())


class SecretStore(Protocol):
    """Locked read-modify-write of a connection's stored fields, so concurrent refreshes keep the newest."""

    def update(self, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> dict[str, Any]: ...


class MemoryTokenCache:
    """A process-local TokenCache for tests and for contexts without a database."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[Any, float]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: str) -> Any | None:
        value = self._data.get(key)
        if value is None or value[1] < time.time():
            return None
        return value[0]

    def set(self, key: str, value: Any, ttl_s: float) -> None:
        self._data[key] = (value, time.time() + ttl_s)

    def delete(self, key: str) -> None:
        self._data.pop(key, None)

    def get_or_fetch(self, key: str, fetch: Fetch, *, stale: Any = None) -> Any:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            value = self.get(key)
            if value is not None and (stale is None or value != stale):
                return value
            if value is not None:
                self.delete(key)  # refused: nobody reuses it, even if the fetch below fails
            value, ttl_s = fetch()
            self.set(key, value, ttl_s)
            return value


@dataclass
class Context:
    """Everything one connector call may use. Built by the engine; built by hand in tests."""

    connector: Connector
    connection: dict[str, Any] = field(default_factory=dict)
    connection_id: int | None = None
    allow_private_network: bool = False
    idempotency_key: str | None = None
    hook_url: str | None = None
    since: datetime | None = None
    run_id: str | None = None
    step_id: str | None = None
    recipe_id: int | None = None  # the recipe whose run calls the action (scopes built-in utilities)
    # The hub's Runtime, for the built-in utilities under hub/utilities (storage, assignment, lookup
    # tables) that keep their state in the hub's database; None in tests and for other connectors.
    hub: Any = None
    # Values to hide wherever this call's requests are logged or its errors kept: the run's named
    # secrets and recipe-document secrets, which are not the connection's own.
    redact_values: list[str] = field(default_factory=list)
    # For webhook verify/parse: what the trigger's `subscribe` returned for the endpoint being hit
    # (the recipe's trigger or a wait_for step), e.g. a per-webhook signing secret; None if nothing.
    subscription: dict[str, Any] | None = None
    cache: TokenCache = field(default_factory=MemoryTokenCache)
    secret_store: SecretStore | None = None
    timeout_s: float = 30.0
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("hub.connector"))

    @property
    def base_url(self) -> str | None:
        url = self.connection.get("base_url") or self.connector.base_url
        return str(url).rstrip("/") if url else None

    def secrets(self) -> list[str]:
        """Every secret value of the connection (and the run's `redact_values`), for redaction."""
        names = self.connector.secret_fields()
        return [str(v) for k, v in self.connection.items() if k in names and v] + self.redact_values

    def http_client(
        self,
        *,
        base_url: str | None = None,
        authenticate: bool = True,
        allowed_hosts: Iterable[str] | None = None,
    ) -> HttpClient:
        """The guarded client, with the connector's auth and error parser applied (and, with
        `allowed_hosts`, sent only to those hosts)."""
        from hub.sdk.http import HttpClient
        from hub.sdk.oauth import ensure_token

        if authenticate:
            ensure_token(self)
        connection = self.connection
        auth = (lambda request: self.connector.auth.apply(request, connection)) if authenticate else None
        return HttpClient(
            base_url=base_url if base_url is not None else self.base_url,
            allow_private=self.allow_private_network,
            timeout=self.timeout_s,
            auth=auth,
            secrets=self.secrets(),
            vendor=self.connector.name or self.connector.id,
            error_parser=self.connector.error_parser,
            retry_after=self.connector.retry_after,
            allowed_hosts=allowed_hosts,
        )

    @property
    def http(self) -> HttpClient:
        return self.http_client()

    def cache_key(self, name: str) -> str:
        return f"conn:{self.connection_id}:{name}"

    def save_connection(self, updates: dict[str, Any]) -> None:
        """Store changed fields (e.g. rotated tokens) back into the vault."""
        if self.secret_store is None:
            self.connection.update(updates)
            return
        self.connection = self.secret_store.update(lambda current: updates)
