"""Connections: named credentials for one connector, secret fields encrypted in the vault."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub import jsonutil
from hub.db.models import Connection, Recipe, RecipeVersion, TriggerState
from hub.recipe_secrets import open_document
from hub.recipes import iter_steps, validate_against
from hub.registry import Registry
from hub.sdk.connector import Connector
from hub.sdk.errors import HubError, RecipeError
from hub.vault import Binding, Vault

NAME_MAX = 200  # connections.name is VARCHAR(200)


class NotFound(HubError):
    """The named object does not exist."""

    code = "not_found"


class Conflict(HubError):
    """The change clashes with what exists (a duplicate name, an object still in use)."""

    code = "conflict"


_DEFAULT_PORTS = {"http": 80, "https": 443}


class SecretsRequired(HubError):
    """A change of where a connection sends requests, keeping secrets typed for the old place."""

    code = "secrets_required"

    def __init__(self, moved: list[str], secrets: list[str]) -> None:
        super().__init__(
            f"changing {', '.join(moved)} changes where this connection sends its credentials: "
            f"enter {', '.join(secrets)} again (or clear them) in the same change",
            details={"changed": moved, "reenter": secrets},
        )
        self.secrets = secrets


def connector_or_error(registry: Registry, connector_id: str) -> Connector:
    connector = registry.get(connector_id)
    if connector is None:
        raise RecipeError(f"$.connector: unknown connector '{connector_id}'", path="$.connector")
    return connector


def secrets_binding(connection: Connection) -> Binding:
    """The secrets of this row only: a ciphertext copied from another connection will not open."""
    return Binding("connections", connection.id, "secrets")


def find_connection(session: Session, name: str) -> Connection | None:
    """The connection named `name` (names are unique), or None."""
    return session.scalar(select(Connection).where(Connection.name == name))


def merged_fields(connection: Connection, vault: Vault) -> dict[str, Any]:
    """The connection's fields with secrets decrypted; only for handing to a connector."""
    data = dict(connection.config or {})
    if connection.secrets:
        data.update(vault.decrypt(connection.secrets, secrets_binding(connection)))
    return data


def store_fields(connection: Connection, connector: Connector, fields: dict[str, Any], vault: Vault) -> None:
    """Split fields into config and sealed secrets; the row must have its id (flushed) already."""
    secret_names = connector.secret_fields()
    secrets = {k: v for k, v in fields.items() if k in secret_names and v is not None}
    connection.config = {k: v for k, v in fields.items() if k not in secret_names and v is not None}
    connection.secrets = vault.encrypt(secrets, secrets_binding(connection)) if secrets else None


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
    session.add(connection)
    session.flush()  # the id the sealed secrets are bound to
    store_fields(connection, connector, config, vault)
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
        _rename_in_recipes(session, registry, vault, connection.name, name)
        connection.name = name
    if config is not None:
        stored = merged_fields(connection, vault)
        fields = {**stored, **config}
        require_secrets_for_new_hosts(connector, stored, fields, given=set(config))
        _validate(connector, fields)
        store_fields(connection, connector, fields, vault)
        connection.revision += 1
    if concurrency_limit is not None:
        connection.concurrency_limit = concurrency_limit or None
    if rate_limit is not None:
        connection.rate_limit = rate_limit or None
    return connection


RENAME_BATCH = 200


def _renamed(document: dict[str, Any], old: str, new: str) -> dict[str, Any] | None:
    """A copy of `document` naming connection `new` where it named `old`; None when it never did."""
    copy = jsonutil.loads(jsonutil.dumps(document))
    specs = [copy.get("trigger") or {}, *(step for _phase, _path, step in iter_steps(copy))]
    named = [spec for spec in specs if spec.get("connection") == old]
    for spec in named:
        spec["connection"] = new
    return copy if named else None


def _rename_in_recipes(session: Session, registry: Registry, vault: Vault, old: str, new: str) -> None:
    """Recipes name their connections: every saved version naming `old` names `new` instead, so a
    disabled recipe (and a replay of an older version) still finds it. Callers refuse the rename while
    an enabled recipe uses the name (its running processes hold the old document). The trigger's poll
    state stays: the source is the same, only its name changed."""
    from hub import recipe_store  # which builds on this module

    current: dict[int, int] = dict(session.execute(select(Recipe.id, Recipe.current_version)).all())
    ids = list(session.scalars(select(RecipeVersion.id).order_by(RecipeVersion.id)))
    for start in range(0, len(ids), RENAME_BATCH):  # a batch of documents in memory at a time
        _rename_in_versions(session, registry, vault, ids[start : start + RENAME_BATCH], current, old, new)
    recipe_store.mark_changed(session)  # webhook lookups cached in this process read the new names


def _rename_in_versions(
    session: Session,
    registry: Registry,
    vault: Vault,
    ids: list[int],
    current: dict[int, int],
    old: str,
    new: str,
) -> None:
    from hub import recipe_store

    def signature(document: dict[str, Any], recipe_id: int, version: int) -> str:
        """Made from the opened document at save, so computed from it here too."""
        return recipe_store.trigger_signature(open_document(document, vault, registry, recipe_id, version))

    versions = session.execute(
        select(
            RecipeVersion.id, RecipeVersion.recipe_id, RecipeVersion.version, RecipeVersion.document
        ).where(RecipeVersion.id.in_(ids))
    ).all()
    for version_id, recipe_id, version, document in versions:
        renamed = _renamed(document, old, new)
        if renamed is None:
            continue
        session.execute(update(RecipeVersion).where(RecipeVersion.id == version_id).values(document=renamed))
        if current.get(recipe_id) == version:
            session.execute(
                update(TriggerState)
                .where(
                    TriggerState.recipe_id == recipe_id,
                    TriggerState.signature == signature(document, recipe_id, version),
                )
                .values(signature=signature(renamed, recipe_id, version))
            )


def require_secrets_for_new_hosts(
    connector: Connector, before: dict[str, Any], after: dict[str, Any], *, given: set[str]
) -> None:
    """Secrets are bound to where they were entered: a change of a host-defining field (base_url,
    fields marked `x-host`) must come with every stored secret entered again or cleared, so nobody
    able to edit a connection can point it at their own server and have the hub send the secrets."""
    defaults = {k: spec.get("default") for k, spec in connector.connection_schema()["properties"].items()}
    moved = sorted(
        name
        for name in connector.host_fields()
        if _destination(before.get(name), defaults.get(name))
        != _destination(after.get(name), defaults.get(name))
    )
    kept = sorted(
        name for name in connector.secret_fields() if before.get(name) is not None and name not in given
    )
    if moved and kept:
        raise SecretsRequired(moved, kept)


def _destination(value: Any, default: Any) -> Any:
    """What a host-defining value says about where requests go: a URL's scheme, host and port (its
    path may change freely), a list's members in any order, other values as they are."""
    value = default if value is None else value
    if isinstance(value, list):
        return sorted(str(_destination(item, None)) for item in value)
    if isinstance(value, str) and "://" in value:
        try:
            parts = urlsplit(value.strip())
            scheme = parts.scheme.lower()
            return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)
        except ValueError:
            return value
    return value.strip().lower() if isinstance(value, str) else value


def public_view(connection: Connection, registry: Registry, vault: Vault) -> dict[str, Any]:
    """What the API shows: secret fields only as set / not set, never their values."""
    connector = registry.get(connection.connector)
    secret_names = connector.secret_fields() if connector else set()
    stored = vault.decrypt(connection.secrets, secrets_binding(connection)) if connection.secrets else {}
    return {
        "id": connection.id,
        "name": connection.name,
        "connector": connection.connector,
        "project_id": connection.project_id,
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


def rotate_all(session: Session, vault: Vault, *, legacy_only: bool = False) -> int:
    """Re-seal stored secrets under the newest key (only legacy Fernet ones if `legacy_only`);
    returns how many rows changed."""
    count = 0
    for connection in session.scalars(select(Connection).where(Connection.secrets.is_not(None))):
        if legacy_only and vault.is_current(connection.secrets):
            continue
        sealed = cast(str, connection.secrets)  # the query selects only rows whose secrets are set
        connection.secrets = vault.rotate_token(sealed, secrets_binding(connection))
        count += 1
    return count
