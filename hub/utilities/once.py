"""Writes applied once per idempotency key, so a repeat-safe utility can be run again safely.

The engine repeats an action whose attempt's outcome is unknown (its worker died mid-call) with the
same idempotency key. The first application's output is stored in the same transaction as its
write; a repeat finds it and answers it again instead of counting or assigning a second time. A
record per key (rather than "the last write's key" on the stored row) survives other runs writing
the same key between the attempt and its repeat, which is exactly when counters are busy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.db.models import UtilityWrite
from hub.db.session import Database


def write_key(idempotency_key: str, target: str) -> str:
    """One record per attempt and target: an attempt that writes several keys records each."""
    return hashlib.sha256(f"{idempotency_key}\n{target}".encode()).hexdigest()


def apply_once(
    db: Database, idempotency_key: str | None, target: str, write: Callable[[Session], dict[str, Any]]
) -> dict[str, Any]:
    """Run `write` in a write transaction unless it already ran under this key; its output either way."""
    if idempotency_key is None:
        return db.write(write)
    key = write_key(idempotency_key, target)

    def unit(session: Session) -> dict[str, Any]:
        done = session.get(UtilityWrite, key)
        if done is not None:
            return dict(done.output)
        output = write(session)
        session.add(UtilityWrite(write_key=key, output=output))
        session.flush()
        return output

    try:
        return db.write(unit)
    except IntegrityError:  # a concurrent repeat of the same attempt committed first: its answer stands
        with db.read() as session:
            done = session.get(UtilityWrite, key)
            if done is None:
                raise
            return dict(done.output)
