"""Connection limits shared by every process on one database, so a cluster respects a vendor's caps.

Each limit is a small set of slot rows in the `leases` table, taken by compare-and-set:

- concurrency N: slots `limit:<id>:c:0..N-1`, each held by one call until released, and expiring
  after the run lease (HUB_LEASE_S) so a worker killed by SIGKILL cannot leak a slot for long;
- rate R per second: n = max(1, floor(R)) slots `limit:<id>:r:0..n-1`, each taken for n/R seconds
  (plus JITTER_S) after a request is granted. At most n requests start in any n/R-second window,
  whatever the number of workers (for R = 10: at most 10 in any second). JITTER_S absorbs the time
  between the grant and the request reaching the vendor, which varies from request to request.

Slot times are read from the database clock on PostgreSQL, so clock skew between machines does not
loosen a limit. Connections without limits never touch the database.
"""

from __future__ import annotations

import math
import random
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.db.core import affected
from hub.db.models import Lease, utcnow
from hub.db.session import Database

FREE = datetime(1970, 1, 1, tzinfo=UTC)
BUSY_WAIT_S = 0.25  # every concurrency slot is in use: try again shortly
MIN_WAIT_S = 0.01
JITTER_S = 0.05


def rate_slots(rate: float) -> tuple[int, float]:
    """(number of slots, seconds each is held) for `rate` requests per second."""
    count = max(1, math.floor(rate))
    return count, count / rate + JITTER_S


class DatabaseLimiter:
    def __init__(self, db: Database, owner: str, slot_lease_s: float) -> None:
        self.db = db
        self.owner = owner[:80]
        self.slot_lease_s = slot_lease_s
        self._lock = threading.Lock()
        self._held: dict[int, list[tuple[str | None, str]]] = {}
        self._known: set[str] = set()

    # -- the two limiter methods ------------------------------------------------------------------
    def try_acquire(self, connection_id: int, concurrency: int | None, rate: float | None) -> float:
        limited_rate = rate is not None and rate > 0
        if concurrency is None and not limited_rate:
            self._remember(connection_id, None, "")
            return 0.0
        conc_names = [f"limit:{connection_id}:c:{k}" for k in range(max(0, concurrency or 0))]
        rate_names: list[str] = []
        hold_s = 0.0
        if limited_rate:
            count, hold_s = rate_slots(float(rate))  # type: ignore[arg-type]
            rate_names = [f"limit:{connection_id}:r:{k}" for k in range(count)]
        self._ensure_rows(conc_names + rate_names)
        token = f"{self.owner}:{uuid.uuid4().hex[:12]}"
        session = self.db.session()
        try:
            slot = None
            if concurrency is not None:
                slot = self._take(session, conc_names, token, self.slot_lease_s)
                if slot is None:
                    session.rollback()
                    return BUSY_WAIT_S
            if limited_rate and self._take(session, rate_names, token, hold_s) is None:
                soonest = session.scalar(
                    select(Lease.expires_at)
                    .where(Lease.name.in_(rate_names))
                    .order_by(Lease.expires_at)
                    .limit(1)
                )
                now = self._clock(session)
                session.rollback()  # gives back the concurrency slot taken above
                return max(MIN_WAIT_S, ((soonest or now) - now).total_seconds())
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        self._remember(connection_id, slot, token)
        return 0.0

    def release(self, connection_id: int) -> None:
        with self._lock:
            held = self._held.get(connection_id)
            if not held:
                return
            slot, token = held.pop()
            if not held:
                del self._held[connection_id]
        if slot is None:
            return
        with self.db.transaction() as session:
            session.execute(
                update(Lease)
                .where(Lease.name == slot, Lease.owner == token)
                .values(owner="", expires_at=FREE)
                .execution_options(synchronize_session=False)
            )

    # -- helpers ----------------------------------------------------------------------------------
    def _remember(self, connection_id: int, slot: str | None, token: str) -> None:
        with self._lock:
            self._held.setdefault(connection_id, []).append((slot, token))

    def _take(self, session: Session, names: list[str], token: str, hold_s: float) -> str | None:
        """Compare-and-set one free slot among `names`; the name taken, or None when all are busy.

        "Now" is read at each UPDATE (after any row lock it waited for), so a slot is held for its
        full time from the moment it is granted.
        """
        now = self._now_sql()
        free = list(session.scalars(select(Lease.name).where(Lease.name.in_(names), Lease.expires_at <= now)))
        random.shuffle(free)  # spread concurrent takers over different rows
        for name in free:
            taken = affected(
                session.execute(
                    update(Lease)
                    .where(Lease.name == name, Lease.expires_at <= self._now_sql())
                    .values(owner=token, expires_at=self._now_sql(hold_s))
                    .execution_options(synchronize_session=False)
                )
            )
            if taken == 1:
                return name
        return None

    def _clock(self, session: Session) -> datetime:
        if self.db.dialect == "postgresql":
            moment: datetime = session.execute(select(func.clock_timestamp())).scalar_one()
            return moment.astimezone(UTC)
        return utcnow()

    def _now_sql(self, plus_s: float = 0.0) -> Any:
        """The database clock on PostgreSQL (clock skew between machines cannot loosen a limit);
        SQLite serves one machine, whose clock is the only one."""
        if self.db.dialect == "postgresql":
            return func.clock_timestamp() + timedelta(seconds=plus_s)
        return utcnow() + timedelta(seconds=plus_s)

    def _ensure_rows(self, names: list[str]) -> None:
        missing = [name for name in names if name not in self._known]
        if not missing:
            return
        insert: Any = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        with self.db.transaction() as session:
            for name in missing:
                session.execute(
                    insert(Lease).values(name=name, owner="", expires_at=FREE).on_conflict_do_nothing()
                )
        with self._lock:
            self._known.update(missing)
