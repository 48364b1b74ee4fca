"""A branch's sub-lease: what a task executing one parallel branch or for_each item holds.

It renews the branch's row in every write, after taking the run's row in share mode: a cancel (or a
`stop` in another branch) that committed is seen at the branch's next write, and one under way waits
for that write. The branch never takes the run's own lease, which stays with nobody while the run is
parked as a join; a `stop` inside the branch ends the run directly, if it has not ended already.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import update

from hub.db.core import affected
from hub.db.errors import is_transient
from hub.engine.run import branch_rows
from hub.engine.run.lease import FINAL, Lease, LostLease

log = logging.getLogger("hub.runner")


class SubLease(Lease):
    """One worker's hold on one branch of a run."""

    def __init__(self, runtime: Any, run_id: int, branch_id: int) -> None:
        super().__init__(runtime, run_id)
        self.branch_id = branch_id

    def renew(self, session: Any) -> None:
        run = branch_rows.lock_run(session, self.run_id, share=True)
        if run is None or run.status in FINAL:
            raise LostLease()
        if not branch_rows.renew(session, self.branch_id, self.rt.owner, self._until()):
            raise LostLease()

    def release_in(self, session: Any, params: dict[str, Any]) -> None:
        """End the run from inside the branch (a `stop`), unless it ended already."""
        run = branch_rows.lock_run(session, self.run_id, share=False)
        if run is None or run.status in FINAL:
            raise LostLease()
        values = {k: v for k, v in params.items() if not k.startswith("b_")}
        ended = update(branch_rows.runs).where(branch_rows.runs.c.id == self.run_id).values(**values)
        if affected(session.execute(ended)) != 1:
            raise LostLease()
        if params["status"] in FINAL:
            branch_rows.cancel(session, self.run_id)
        if self.end is not None:
            self.woken = self.end.write(session, self.run_id, params)

    def give_back(self) -> None:
        """Queue the branch again for the sweeper; if the database stays away, its sub-lease expires."""
        try:
            self.rt.db.write(lambda session: branch_rows.give_back(session, self.branch_id, self.rt.owner))
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("event=branch_left_for_lease_expiry run=%s branch=%s", self.run_id, self.branch_id)
