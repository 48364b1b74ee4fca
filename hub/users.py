"""Users with roles, argon2id password hashes, and API tokens stored only as hashes."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.connections import Conflict, NotFound
from hub.db.models import ApiToken, User, utcnow
from hub.sdk.errors import RecipeError

ROLES = ("viewer", "editor", "admin")
# OWASP's current minimum for argon2id: 19 MiB of memory, 2 iterations, 1 degree of parallelism.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY_HASH = _hasher.hash("not a real password")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10


def role_allows(role: str, needed: str) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise RecipeError(f"$.password: at least {MIN_PASSWORD} characters", path="$.password")
    return _hasher.hash(password)


def create_user(session: Session, email: str, role: str, password: str | None = None) -> User:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise RecipeError(f"$.email: '{email}' is not an email address", path="$.email")
    if role not in ROLES:
        raise RecipeError(f"$.role: must be one of {', '.join(ROLES)}", path="$.role")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user {email} already exists")
    user = User(email=email, role=role, password_hash=hash_password(password) if password else None)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user when the password matches; the same work is done for unknown users."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    stored = user.password_hash if user is not None and user.password_hash and not user.disabled else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if stored is None or user is None:
        return None
    if _hasher.check_needs_rehash(stored):
        user.password_hash = _hasher.hash(password)
    return user


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token: 256 random bits, so a plain SHA-256 of it is a safe thing to store."""
    raw = "hub_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_digest(raw), prefix=raw[:8])
    session.add(token)
    session.flush()
    return token, raw


def token_user(session: Session, raw: str) -> User | None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(raw)))
    if token is None or token.revoked_at is not None or token.user.disabled:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return token.user


def revoke_token(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"token {token_id} not found")
    token.revoked_at = token.revoked_at or utcnow()
    return token
