"""The first admin from the browser: a one-time setup link that `hub serve` prints while no user exists.

Only the SHA-256 of the link's token is stored (the `meta` row `setup_token`), so the link can be
shown once, on the console of the process that made it, and never again. Starting `hub serve` again
while there is still no user replaces it; once any user exists no link is made and an old one is
refused. The token row is deleted in the same transaction that creates the admin, as its first
statement: of two submissions racing, only the one that deleted the row creates a user.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub import users
from hub.audit import audit
from hub.connections import Conflict
from hub.db.models import Meta, User

SETUP_KEY = "setup_token"


class SetupClosed(Conflict):
    """The link is not (or no longer) valid: a user exists, it was used, or a newer link replaced it."""

    def __init__(self) -> None:
        super().__init__("the setup link is not valid: the hub has users, or a newer link replaced it")


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def has_users(db: Session) -> bool:
    return db.scalar(select(User.id).limit(1)) is not None


def issue(db: Session) -> str | None:
    """A new setup token while the hub has no user (replacing any earlier one), else None."""
    if has_users(db):
        db.execute(delete(Meta).where(Meta.key == SETUP_KEY))
        return None
    raw = secrets.token_urlsafe(32)
    db.merge(Meta(key=SETUP_KEY, value=_digest(raw)))
    return raw


def is_open(db: Session, raw: str) -> bool:
    """Whether `raw` is the current setup token and the hub still has no user."""
    stored = db.scalar(select(Meta.value).where(Meta.key == SETUP_KEY))
    return stored is not None and hmac.compare_digest(stored, _digest(raw)) and not has_users(db)


def create_admin(db: Session, raw: str, email: str, password: str) -> User:
    """Consume the token and create the admin; SetupClosed if the token is not the live one.

    The password follows the rules of every user (hub.users.hash_password); on any error the
    transaction rolls back and the token stays valid.
    """
    consumed = db.execute(delete(Meta).where(Meta.key == SETUP_KEY, Meta.value == _digest(raw)))
    if getattr(consumed, "rowcount", 0) != 1 or has_users(db):
        raise SetupClosed()
    if not password:  # create_user would make a user without one, who cannot sign in
        raise users.InvalidInput(f"$.password: at least {users.MIN_PASSWORD} characters", path="$.password")
    user = users.create_user(db, email, "admin", password=password)
    details = {"email": user.email, "role": user.role, "via": "setup link"}
    audit(db, user.email, "user.create", "user", str(user.id), details)
    return user
