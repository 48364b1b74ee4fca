"""Secrets inside stored recipe documents (e.g. `webhook.catch`'s signing `secret`) are sealed in the vault.

A literal value of a field its connector marks secret (`x-secret` / `writeOnly` in a trigger's config or
an action's input schema) is stored as a vault token bound to its recipe version, step and field, so a
database dump does not give it away and a token copied to another place does not open there. Templates
stay readable (they name data, not secrets). Documents are opened only where a connector needs the
values (ingress, runner, poller, subscriptions); answers and exports show `[REDACTED]` for either form.
Documents stored before sealing hold plain values: they are still read, and sealed at start-up and by
`hub vault rotate` (`reseal_documents`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import jsonutil, templating
from hub.db.models import RecipeVersion
from hub.recipes import secret_slots
from hub.registry import Registry
from hub.vault import Binding, Vault


def _binding(recipe_id: int, version: int, where: str, name: str) -> Binding:
    return Binding("recipe_versions", f"{recipe_id}/{version}", f"{where}/{name}")


def _is_literal(value: Any) -> bool:
    return value is not None and value != "" and not templating.is_template(str(value))


def seal_document(
    document: dict[str, Any], vault: Vault, registry: Registry, recipe_id: int, version: int
) -> dict[str, Any]:
    """A copy to store: every literal secret sealed for its place in this recipe version."""
    sealed = jsonutil.loads(jsonutil.dumps(document))
    for where, holder, name in secret_slots(sealed, registry):
        if _is_literal(holder[name]):
            holder[name] = vault.encrypt({"v": holder[name]}, _binding(recipe_id, version, where, name))
    return sealed


def open_document(
    document: dict[str, Any], vault: Vault, registry: Registry, recipe_id: int, version: int
) -> dict[str, Any]:
    """A copy with sealed secrets opened, for handing to connectors; never for answers or logs.

    Raises VaultError (naming the place, never the value) when a token does not belong there."""
    opened = jsonutil.loads(jsonutil.dumps(document))
    for where, holder, name in secret_slots(opened, registry):
        if Vault.is_current(holder[name]):
            holder[name] = vault.decrypt(holder[name], _binding(recipe_id, version, where, name))["v"]
    return opened


def secret_values(document: dict[str, Any], registry: Registry) -> list[str]:
    """The literal secrets of an opened document, for redacting them from what runs store."""
    return [str(holder[name]) for _where, holder, name in secret_slots(document, registry) if holder[name]]


def reseal_documents(session: Session, vault: Vault, registry: Registry, *, legacy_only: bool = False) -> int:
    """Re-seal every version's secrets under the newest key, or (`legacy_only`) seal plain ones only;
    returns how many versions changed."""
    count = 0
    for row in session.scalars(select(RecipeVersion).order_by(RecipeVersion.id)):
        sealed, changed = _reseal(row.document, vault, registry, row.recipe_id, row.version, legacy_only)
        if changed:
            row.document = sealed
            count += 1
    return count


def _reseal(
    document: dict[str, Any],
    vault: Vault,
    registry: Registry,
    recipe_id: int,
    version: int,
    legacy_only: bool,
) -> tuple[dict[str, Any], bool]:
    copy = jsonutil.loads(jsonutil.dumps(document))
    changed = False
    for where, holder, name in secret_slots(copy, registry):
        value, binding = holder[name], _binding(recipe_id, version, where, name)
        if Vault.is_current(value):
            if legacy_only:
                continue
            holder[name] = vault.rotate_token(value, binding)
        elif _is_literal(value):
            holder[name] = vault.encrypt({"v": value}, binding)
        else:
            continue
        changed = True
    return copy, changed
