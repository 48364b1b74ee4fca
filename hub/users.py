"""Users with roles, argon2id password hashes, and API tokens stored only as hashes.

Passwords are hashed with argon2id at OWASP's current minimum cost (Password Storage Cheat Sheet):
m=19 MiB (memory_cost=19456 KiB), t=2 iterations, p=1 degree of parallelism. Hashes made with other
parameters are upgraded the next time their password is verified.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from hub import web_sessions
from hub.access import join_default_project
from hub.connections import Conflict, NotFound
from hub.db.models import ApiToken, User, utcnow
from hub.sdk.errors import RecipeError

ROLES = ("viewer", "editor", "admin")
MIN_PASSWORD = 10
TOKEN_PREFIX = "hub_"  # noqa: S105 (a marker that makes leaked tokens easy to scan for)
LAST_USED_RESOLUTION = timedelta(minutes=1)

_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY_HASH = _hasher.hash("not a real password")
EMAIL_MAX = 320  # users.email is VARCHAR(320)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvalidInput(RecipeError):
    """A user or token field is invalid; `path` names it."""

    code = "invalid"


def role_allows(role: str, needed: str) -> bool:
    """Whether `role` is at least `needed` in viewer < editor < admin."""
    return role in ROLES and needed in ROLES and ROLES.index(role) >= ROLES.index(needed)


def hash_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput(f"$.password: at least {MIN_PASSWORD} characters", path="$.password")
    return _hasher.hash(password)


def set_password(user: User, password: str) -> None:
    """A new password ends every browser session of the user: whoever knew the old one is signed out."""
    user.password_hash = hash_password(password)
    _end_web_sessions(user)


def set_disabled(user: User, disabled: bool) -> None:
    """Disabling ends every browser session of the user, so enabling them again revives none."""
    if disabled and not user.disabled:
        _end_web_sessions(user)
    user.disabled = disabled


def _end_web_sessions(user: User) -> None:
    db = object_session(user)
    if db is not None and user.id is not None:
        web_sessions.end_all(db, user.id)


def verify_password(user: User | None, password: str) -> bool:
    """Check a password in about the same time whether or not the user (or a hash) exists.

    A match on a hash made with other parameters re-hashes it at the current cost.
    """
    stored = user.password_hash if user is not None and user.password_hash else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    if stored is None or user is None:
        return False
    if _hasher.check_needs_rehash(stored):
        user.password_hash = _hasher.hash(password)
    return True


def create_user(session: Session, email: str, role: str, password: str | None = None) -> User:
    email = email.strip().lower()
    if len(email) > EMAIL_MAX or not _EMAIL.match(email):
        raise InvalidInput(f"$.email: '{email}' is not an email address", path="$.email")
    if role not in ROLES:
        raise InvalidInput(f"$.role: must be one of {', '.join(ROLES)}", path="$.role")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user {email} already exists")
    user = User(email=email, role=role, password_hash=hash_password(password) if password else None)
    session.add(user)
    session.flush()
    join_default_project(session, user)
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user when the password matches; unknown and disabled users cost the same work."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is not None and user.disabled:
        verify_password(None, password)
        return None
    return user if verify_password(user, password) else None


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token (shown once): 256 random bits, so a plain SHA-256 of it is a safe thing to store."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_digest(raw), prefix=raw[:8])
    session.add(token)
    session.flush()
    return token, raw


def token_owner(session: Session, raw: str) -> tuple[User, ApiToken] | None:
    """The owner of a live token and the token; last_used_at is written at most once a minute."""
    if not raw:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(raw)))
    if token is None or token.revoked_at is not None or token.user.disabled:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token.user, token


def token_user(session: Session, raw: str) -> User | None:
    """The owner of a live token."""
    found = token_owner(session, raw)
    return found[0] if found is not None else None


def revoke_token(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"token {token_id} not found")
    token.revoked_at = token.revoked_at or utcnow()
    return token
