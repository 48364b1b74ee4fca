"""Parks noted by nested steps, joined into one release of the run.

A step inside a branch, parallel or for_each that parks (a delay, a wait_for, a retry's backoff, a
busy connection, a hold) writes its own row but leaves the run held, so the other branches and items
go on. Once nothing can proceed the run is given up once, as the most urgent of the parks: `held`
when a person must decide, else `queued` at the earliest retry, else `waiting` until the earliest
delay (or an event). A wait_for that ended while the run was still held (its step row is no longer
`waiting`) means the run can proceed: the release is not written and the walk goes on.

Branches spread as tasks of their own (`spread`) add one more park, `joining`, above all others
while any of them is in flight: the run is given up held by nobody, `running` until the last branch
to settle queues it (`branch_rows.wake_joined`), or the sweeper looks after `JOIN_CHECK_S`.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hub.db.models import utcnow
from hub.engine import store
from hub.engine.run import branch_rows

if TYPE_CHECKING:
    from hub.engine.run.lease import Lease
    from hub.engine.run.state import RunState

JOINING = "joining"
RANK = {"waiting": 0, "queued": 1, "held": 2, JOINING: 3}
JOIN_CHECK_S = 60.0  # a run parked as a join is looked at again after this, should no branch queue it


@dataclass(frozen=True)
class Park:
    path: str
    status: str
    wake_at: Any = None
    error: dict[str, Any] | None = None
    on_event: bool = False  # a wait_for: intake may end it while the run is still held

    def stored(self) -> dict[str, Any]:
        """As a settled branch's row keeps it."""
        wake = self.wake_at.isoformat() if isinstance(self.wake_at, datetime) else None
        return {**asdict(self), "wake_at": wake}

    @classmethod
    def from_stored(cls, kept: dict[str, Any]) -> Park:
        wake = kept.get("wake_at")
        return cls(**{**kept, "wake_at": datetime.fromisoformat(wake) if wake else None})


class Parks:
    """The parks noted since the last release; appended from the threads of one run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parks: list[Park] = []

    def note(
        self,
        path: str,
        status: str,
        *,
        wake_at: Any = None,
        error: dict[str, Any] | None = None,
        on_event: bool = False,
    ) -> None:
        with self._lock:
            self._parks.append(Park(path, status, wake_at, error, on_event))

    def add(self, parks: list[Park]) -> None:
        """Parks noted elsewhere (a spread branch's, read from its row)."""
        with self._lock:
            self._parks.extend(parks)

    def stored(self) -> list[dict[str, Any]]:
        with self._lock:
            return [park.stored() for park in self._parks]

    def drop(self, prefix: str) -> None:
        """Forget the parks under `prefix` (the items of a loop that failed without them)."""
        with self._lock:
            self._parks = [p for p in self._parks if not p.path.startswith(prefix)]

    def __bool__(self) -> bool:
        return bool(self._parks)

    def joined(self) -> tuple[str, Any, dict[str, Any] | None]:
        """(run status, wake-up time, error) the run is given up as."""
        status = max((p.status for p in self._parks), key=lambda s: RANK.get(s, 0))
        wakes = [p.wake_at for p in self._parks if p.wake_at is not None and p.status == status]
        if status == "waiting":  # a delay's end also wakes a run parked on events
            wakes = [p.wake_at for p in self._parks if p.wake_at is not None]
        error = next((p.error for p in self._parks if p.status == status and p.error), None)
        return status, min(wakes) if wakes else None, error

    def release(self, db: Any, lease: Lease, state: RunState) -> bool:
        """Give the run up as the joined parks, unless a wait_for ended meanwhile (its row is read
        back into `state`); True when released. The lease's renewal locks the run row first, which
        intake also locks before ending a wait, so an event cannot slip between check and release."""
        status, wake_at, error = self.joined()
        if status == JOINING:
            return self._join(db, lease)
        params = lease.release_params(status, wake_at=wake_at, error=error)
        on_event = [p.path for p in self._parks if p.on_event]

        def release(session: Any) -> bool:
            lease.renew(session)
            rows = store.read_steps_at(session, state.run.id, on_event)
            ended = [row for row in rows if row.status != "waiting"]
            if ended:
                for row in ended:
                    state.steps[(row.phase, row.path)] = row
                return False
            lease.release_in(session, params)
            return True

        released: bool = db.write(release)
        with self._lock:
            self._parks.clear()
        if released:
            lease.released_as(status)
        return released

    def _join(self, db: Any, lease: Lease) -> bool:
        """Give the run up as a join while branches are in flight; queue it at once if the last one
        settled meanwhile (it found the run still held, so it could not queue it)."""

        def join(session: Any) -> str:
            lease.renew(session)
            if branch_rows.in_flight(session, lease.run_id):
                params = lease.release_params("running")
                params["lease_expires_at"] = utcnow() + timedelta(seconds=JOIN_CHECK_S)
                lease.release_in(session, params)
                return "running"
            lease.release_in(session, {**lease.release_params("queued"), "dispatched_at": utcnow()})
            return "queued"

        status: str = db.write(join)
        with self._lock:
            self._parks.clear()
        lease.released_as(status)
        if status == "queued":
            lease.rt.dispatch([lease.run_id])
        return True
