"""Browser sessions kept server-side: the signed cookie carries a random id, the database its state.

A signed cookie alone stays valid until it expires whatever happens on the server, so a copy taken
from a browser outlived logout, a password change and a disabled account. Each sign-in stores the
SHA-256 of a 256-bit random id with its user; every request checks that record, and a session that
was revoked, has been idle longer than `idle_s` or began more than `max_s` ago is over.
last_seen_at is written at most once a minute, so pages do not each cost a database write.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, joinedload

from hub.db.models import User, WebSession, utcnow

LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def start(db: Session, user_id: int, max_s: int) -> str:
    """A new session for `user_id`; returns the id for the cookie (never stored as such).

    The user's sessions that are over anyway are deleted here, so the table does not grow."""
    now = utcnow()
    db.execute(
        delete(WebSession).where(
            WebSession.user_id == user_id,
            or_(WebSession.revoked_at.is_not(None), WebSession.created_at < now - timedelta(seconds=max_s)),
        )
    )
    raw = secrets.token_urlsafe(32)
    db.add(WebSession(token_hash=_digest(raw), user_id=user_id, created_at=now, last_seen_at=now))
    db.flush()
    return raw


def resolve(db: Session, raw: str, *, idle_s: int, max_s: int) -> User | None:
    """The enabled user of a live session, recording that it was seen; None when it is over."""
    now = utcnow()
    record = db.scalar(
        select(WebSession).options(joinedload(WebSession.user)).where(WebSession.token_hash == _digest(raw))
    )
    if record is None or record.revoked_at is not None:
        return None
    user = record.user
    over = (
        now - record.last_seen_at > timedelta(seconds=idle_s)
        or now - record.created_at > timedelta(seconds=max_s)
        or user.disabled
        or not user.password_hash
    )
    if over:
        record.revoked_at = now
        return None
    if now - record.last_seen_at >= LAST_SEEN_RESOLUTION:
        record.last_seen_at = now
    return user


def end(db: Session, raw: str) -> None:
    """Sign-out: the session is revoked, so a copy of its cookie no longer works either."""
    db.execute(
        update(WebSession)
        .where(WebSession.token_hash == _digest(raw), WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def end_all(db: Session, user_id: int) -> None:
    """Every session of the user, wherever it is: on a password change or when the user is disabled."""
    db.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
