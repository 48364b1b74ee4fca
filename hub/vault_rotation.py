"""Re-sealing every stored secret: `hub vault rotate`, and the one-time start-up upgrade to bound tokens.

Secrets live in connection rows, cached vendor tokens, webhook registrations, recipe documents, named
secrets and the vault check row. Rotation re-seals all of them under the newest key. The upgrade
re-seals only what an older release wrote (Fernet tokens bound to nothing, plain secrets in recipe
documents): it needs the vault keys, which Alembic migrations do not have, so it runs at start-up,
once per database (a `meta` row records it), under a lock on the check row so processes starting
together do it one at a time.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.connections import rotate_all
from hub.db.models import Meta
from hub.db.session import Database
from hub.engine.stores import rotate_cache
from hub.engine.subscriptions import reseal_all
from hub.recipe_secrets import reseal_documents
from hub.registry import Registry
from hub.utilities import secrets as named_secrets
from hub.vault import Vault

log = logging.getLogger("hub.vault")

VAULT_CHECK_KEY = "vault_check"
FORMAT_KEY = "vault_format"
CURRENT_FORMAT = "aead-v2"  # bound AES-256-GCM tokens; recipe documents' secrets sealed


def reseal_everything(
    session: Session, vault: Vault, registry: Registry, *, legacy_only: bool = False
) -> dict[str, int]:
    """Re-seal every stored secret under the newest key (only older formats if `legacy_only`);
    returns how many of each kind changed."""
    counts = {
        "connections": rotate_all(session, vault, legacy_only=legacy_only),
        "webhook_registrations": reseal_all(session, vault, legacy_only=legacy_only),
        "recipe_versions": reseal_documents(session, vault, registry, legacy_only=legacy_only),
        "cache_entries": rotate_cache(session, vault, legacy_only=legacy_only),
        "named_secrets": named_secrets.rotate_all(session, vault, legacy_only=legacy_only),
    }
    check = session.get(Meta, VAULT_CHECK_KEY)
    if check is not None and not (legacy_only and vault.is_current(check.value)):
        check.value = vault.check_token()
    return counts


def upgrade_legacy_secrets(db: Database, vault: Vault, registry: Registry) -> None:
    """Seal what older releases stored, once per database; call after the vault check passed."""
    with db.transaction() as session:
        if _is_current(session):
            return
        # Processes starting together queue here; the later ones find the upgrade done.
        session.scalar(select(Meta).where(Meta.key == VAULT_CHECK_KEY).with_for_update())
        if _is_current(session):
            return
        counts = reseal_everything(session, vault, registry, legacy_only=True)
        session.merge(Meta(key=FORMAT_KEY, value=CURRENT_FORMAT))
    log.info("event=vault_upgraded %s", " ".join(f"{kind}={n}" for kind, n in counts.items()))


def _is_current(session: Session) -> bool:
    return session.scalar(select(Meta.value).where(Meta.key == FORMAT_KEY)) == CURRENT_FORMAT
