"""People's operations on the storage utility's keys (REST and web UI): read, list, set, delete.

Keys are named by their stored scope, `global` or `recipe:<id>`. Changes are audited with the
scope, key and size of the value, never the value itself (it may be a customer's data).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from hub import jsonutil
from hub.audit import audit
from hub.connections import NotFound
from hub.runtime import Runtime
from hub.sdk.errors import HubError
from hub.services import InvalidInput
from hub.utilities import store
from hub.utilities.values import MAX_TTL_S, MIN_TTL_S, InvalidValue, canonical, check_key, parse_scope


class BadAddress(HubError):
    """The scope or key in the address is malformed (the API answers 400)."""

    code = "bad_request"


def _checked(scope: str, key: str | None = None) -> tuple[str, str]:
    try:
        return parse_scope(scope), check_key(key, "key") if key is not None else ""
    except InvalidValue as exc:
        raise BadAddress(str(exc)) from None


def entry_view(scope: str, entry: store.Entry) -> dict[str, Any]:
    return {
        "scope": scope,
        "key": entry.key,
        "value": entry.value,
        "expires_at": _time(entry.expires_at),
        "updated_at": _time(entry.updated_at),
    }


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def get_value(rt: Runtime, scope: str, key: str) -> dict[str, Any]:
    scope, key = _checked(scope, key)
    with rt.db.read() as session:
        entry = store.get(session, scope, key)
    if entry is None:
        raise NotFound(f"no key '{key}' in scope '{scope}'")
    return entry_view(scope, entry)


def list_values(rt: Runtime, scope: str, prefix: str, cursor: str | None, limit: int) -> dict[str, Any]:
    scope, _ = _checked(scope)
    with rt.db.read() as session:
        entries, next_cursor = store.page(session, scope, prefix, cursor, limit)
    return {"scope": scope, "entries": [entry_view(scope, e) for e in entries], "next_cursor": next_cursor}


def list_scopes(rt: Runtime) -> list[str]:
    with rt.db.read() as session:
        return list(store.scopes(session))


def parse_ttl(raw: Any) -> float | None:
    """`ttl_s`: absent or null (never expires), else seconds above 0 and at most ten years."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
        raise InvalidInput("$.ttl_s: must be a number of seconds", path="$.ttl_s")
    if not MIN_TTL_S <= raw <= MAX_TTL_S:
        raise InvalidInput(f"$.ttl_s: must be from {MIN_TTL_S} to {MAX_TTL_S} seconds", path="$.ttl_s")
    return float(raw)


def put_value(
    rt: Runtime, scope: str, key: str, value: Any, ttl_s: float | None, *, actor: str
) -> dict[str, Any]:
    """Set a key (replacing its value and expiry) and audit it; answers the stored entry."""
    scope, key = _checked(scope, key)
    try:
        value = canonical(value)
    except InvalidValue as exc:
        raise InvalidInput(f"$.{exc}", path=f"$.{exc.field}") from None
    size = len(jsonutil.dumps(value, compact=True).encode("utf-8"))

    def write(session: Any) -> dict[str, Any]:
        entry = store.put(session, scope, key, value, ttl_s)
        audit(session, actor, "storage.set", "storage", scope, {"key": key, "bytes": size, "ttl_s": ttl_s})
        return entry_view(scope, entry)

    return rt.db.write(write)


def delete_value(rt: Runtime, scope: str, key: str, *, actor: str) -> None:
    scope, key = _checked(scope, key)

    def write(session: Any) -> None:
        if not store.remove(session, scope, key):
            raise NotFound(f"no key '{key}' in scope '{scope}'")
        audit(session, actor, "storage.delete", "storage", scope, {"key": key})

    rt.db.write(write)
