"""Failed sign-ins per client address and per (address, email) in a sliding window.

Counted in the database, so every web process (`hub serve` forks one per CPU; several `hub web`
machines) shares one count: kept in each process's memory, the limit grew with the processes. Keys
are kept as HMAC-SHA256 digests under the session key, so no address or email sits in the table.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.db.clock import database_now
from hub.db.models import LoginFailure


@dataclass(frozen=True)
class LoginLimits:
    """At most `per_account` failures per (address, email) and `per_address` per address in `window_s`."""

    secret: bytes
    per_account: int = 5
    per_address: int = 20
    window_s: float = 300.0

    def _key(self, *parts: str) -> str:
        return hmac.new(self.secret, "\0".join(parts).encode(), hashlib.sha256).hexdigest()

    def _keys(self, address: str, email: str) -> list[tuple[str, int]]:
        return [
            (self._key("address", address), self.per_address),
            (self._key("account", address, email), self.per_account),
        ]

    def retry_after(self, session: Session, address: str, email: str) -> int:
        """Seconds to wait before another attempt is allowed; 0 when one is allowed now."""
        now = database_now(session)
        since = now - timedelta(seconds=self.window_s)
        waits = [0]
        for key, limit in self._keys(address, email):
            times = session.scalars(
                select(LoginFailure.at)
                .where(LoginFailure.key_hash == key, LoginFailure.at > since)
                .order_by(LoginFailure.at)
            ).all()
            if len(times) >= limit:  # allowed again once all but limit - 1 of them have aged out
                ages_out = times[len(times) - limit] + timedelta(seconds=self.window_s)
                waits.append(int((ages_out - now).total_seconds()) + 1)
        return max(waits)

    def failed(self, session: Session, address: str, email: str) -> None:
        """Count a failure against both keys, forgetting every failure that aged out."""
        now = database_now(session)
        session.execute(delete(LoginFailure).where(LoginFailure.at <= now - timedelta(seconds=self.window_s)))
        session.add_all(LoginFailure(key_hash=key, at=now) for key, _limit in self._keys(address, email))

    def succeeded(self, session: Session, address: str, email: str) -> None:
        """A right password clears that account's failures from that address (not the address's)."""
        session.execute(
            delete(LoginFailure).where(LoginFailure.key_hash == self._key("account", address, email))
        )
