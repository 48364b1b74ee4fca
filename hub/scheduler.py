"""APScheduler jobs for polls, schedules and wake-ups, run by whichever process holds the lease.

Every scheduler keeps its poll jobs and schedule list in memory and reconciles them with the database
every few seconds, so a recipe saved by any process gets its job replaced (a new version never runs
beside the old). Only the holder of the `scheduler` lease row actually polls, fires and sweeps; the
lease is timed by the database's clock, and schedule slots live in the database (hub.engine.schedules)
so a slot due during a failover fires once, late, on the next leader. The leader also renews vendor
webhook registrations that are due (hub.engine.subscriptions.renew_due).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import case, func, select, update

from hub.db.clock import database_now
from hub.db.errors import describe, is_transient
from hub.db.models import Lease, Recipe, utcnow
from hub.engine.backoff import DatabaseBackoff
from hub.engine.poller import poll_recipe
from hub.engine.schedules import Schedule, fire_due, reconcile
from hub.engine.subscriptions import renew_due
from hub.engine.sweeper import sweep
from hub.engine.wait_poller import poll_waits
from hub.recipe_index import current_versions
from hub.retention import prune
from hub.sdk.connector import PollingTrigger, ScheduleTrigger

if TYPE_CHECKING:
    from hub.runtime import Runtime

log = logging.getLogger("hub.scheduler")
LEASE_NAME = "scheduler"
SCHEDULE_TICK_S = 1.0
RETENTION_EVERY_S = 3600.0  # how often the leader prunes (hub/retention.py); the first a minute in
# How often the leader looks for webhook registrations to renew; vendors' lifetimes run to days.
RENEW_CHECK_S = 60.0


class Scheduler:
    def __init__(self, runtime: Runtime, *, lease_s: float = 15.0, sync_interval_s: float = 5.0) -> None:
        self.rt = runtime
        self.lease_s = lease_s
        self.sync_interval_s = sync_interval_s
        # A poll that starts late (1,000 due in the same second) still runs, once, rather than skipped.
        defaults = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        self._aps = BackgroundScheduler(timezone="UTC", job_defaults=defaults)
        self._jobs: dict[str, str] = {}  # job id -> signature (recipe version + interval spec)
        # Replaced whole by each sync, never changed in place; None until a sync succeeded, so a
        # scheduler that could not read the recipes never takes their schedules for removed.
        self._schedules: dict[int, Schedule] | None = None
        self._reconciled: dict[int, Schedule] | None = None  # what the schedule rows were last set to
        self._leader = threading.Event()
        self._valid_until = 0.0
        self._synced_mark: tuple[Any, ...] | None = None
        self._sweeping = DatabaseBackoff("sweep")
        self._firing = DatabaseBackoff("schedules")
        self._pruning = DatabaseBackoff("retention")
        self._renewing = DatabaseBackoff("renewals")

    @property
    def is_leader(self) -> bool:
        """True only while the lease last taken is still valid by this process's own clock, so a
        leader that stalled past its lease (and may have been replaced) stops acting at once."""
        return self._leader.is_set() and time.monotonic() < self._valid_until

    def start(self) -> None:
        self.renew_lease()
        self._aps.add_job(self.renew_lease, IntervalTrigger(seconds=max(1.0, self.lease_s / 3)), id="lease")
        self._aps.add_job(self.sync_jobs, IntervalTrigger(seconds=self.sync_interval_s), id="sync")
        self._aps.add_job(self._sweep, IntervalTrigger(seconds=self.rt.settings.sweep_interval_s), id="sweep")
        self._aps.add_job(self.fire_schedules, IntervalTrigger(seconds=SCHEDULE_TICK_S), id="schedules")
        self._aps.add_job(
            self.prune,
            IntervalTrigger(seconds=RETENTION_EVERY_S),
            id="retention",
            next_run_time=utcnow() + timedelta(seconds=60),
        )
        self._aps.add_job(self.renew_subscriptions, IntervalTrigger(seconds=RENEW_CHECK_S), id="renewals")
        self.sync_jobs()
        self._aps.start()

    def shutdown(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=False)
        if self.is_leader:
            with self.rt.db.transaction() as session:
                session.execute(
                    update(Lease)
                    .where(Lease.name == LEASE_NAME, Lease.owner == self.rt.owner)
                    .values(expires_at=database_now(session))
                )
            self._leader.clear()

    # -- leadership ----------------------------------------------------------------------------
    def renew_lease(self) -> bool:
        """Take or keep the lease row; a lease not renewed in time passes to another scheduler.
        Its expiry is set and compared by the database's clock, so machines whose clocks disagree
        still agree on who leads."""
        valid_until = time.monotonic() + self.lease_s  # counted from before the write, never after
        try:
            with self.rt.db.transaction() as session:
                lease = session.scalars(
                    select(Lease).where(Lease.name == LEASE_NAME).with_for_update()
                ).first()
                now = database_now(session)
                expires = now + timedelta(seconds=self.lease_s)
                if lease is None:
                    session.add(Lease(name=LEASE_NAME, owner=self.rt.owner, expires_at=expires))
                elif lease.owner == self.rt.owner or lease.expires_at < now:
                    lease.owner, lease.expires_at = self.rt.owner, expires
                else:
                    self._leader.clear()
                    return False
        except Exception as exc:  # a racing insert by another scheduler, or the database is down
            log.warning(
                "event=lease_renew_failed owner=%s error=%s",
                self.rt.owner,
                describe(exc),
                exc_info=not is_transient(exc),
            )
            self._leader.clear()
            return False
        if not self.is_leader:
            log.info("event=scheduler_leader owner=%s", self.rt.owner)
            self._reconciled = None  # another leader may have left the schedule rows behind
        self._valid_until = valid_until
        self._leader.set()
        return True

    # -- jobs ------------------------------------------------------------------------------------
    def _sweep(self) -> None:
        if self.is_leader:
            self._sweeping.run(self._sweep_once)

    def _sweep_once(self) -> None:
        sweep(self.rt, fresh_s=self.rt.settings.redispatch_s)
        poll_waits(self.rt)

    def prune(self) -> None:
        """On the leader: delete what retention lets go, stopping between batches if leadership ends."""
        if self.is_leader:
            self._pruning.run(lambda: prune(self.rt, keep_going=lambda: self.is_leader))

    def renew_subscriptions(self) -> int:
        """On the leader: renew the vendor webhook registrations whose `renew_after` has passed."""
        if not self.is_leader:
            return 0
        try:
            return self._renewing.run(lambda: renew_due(self.rt)) or 0
        except Exception:
            log.exception("event=renewals_failed")
            return 0

    def fire_schedules(self) -> None:
        """On the leader: bring the schedule rows up to date with the recipes, then fire due slots,
        including slots missed while no scheduler led or the database was out (within
        HUB_SCHEDULE_GRACE_S)."""
        self._firing.run(self._fire_schedules_once)

    def _fire_schedules_once(self) -> None:
        schedules = self._schedules
        if not self.is_leader or schedules is None:
            return
        if self._reconciled is not schedules:
            with self.rt.db.transaction() as session:
                reconcile(session, schedules, database_now(session))
            self._reconciled = schedules
        self.rt.dispatch(fire_due(self.rt, schedules, self.rt.settings.schedule_grace_s))

    def wanted_jobs(self) -> tuple[dict[str, tuple[str, Any, Any]], dict[int, Schedule]]:
        """Poll jobs (job id -> (signature, APScheduler trigger, callable)) and schedules (recipe id ->
        Schedule) of every enabled clock-driven recipe."""
        wanted: dict[str, tuple[str, Any, Any]] = {}
        schedules: dict[int, Schedule] = {}
        with self.rt.db.read() as session:
            rows = session.execute(
                current_versions(Recipe.enabled.is_(True), Recipe.deleted_at.is_(None)).execution_options(
                    yield_per=500  # 10,000 documents at once would stay in RSS
                )
            )
            for recipe_id, _name, version, document in rows:
                self._want(wanted, schedules, recipe_id, version, document["trigger"])
        return wanted, schedules

    def _want(
        self,
        wanted: dict[str, tuple[str, Any, Any]],
        schedules: dict[int, Schedule],
        recipe_id: int,
        version: int,
        spec: Any,
    ) -> None:
        """Add the poll job or schedule of a recipe whose trigger has one (webhooks need none)."""
        connector = self.rt.registry.get(spec["connector"])
        trigger = connector.trigger(spec["trigger"]) if connector else None
        if trigger is None:
            return
        job_id = f"recipe:{recipe_id}"
        if isinstance(trigger, PollingTrigger):
            seconds = max(trigger.min_interval_s, int(spec.get("interval_s") or trigger.default_interval_s))
            wanted[job_id] = (
                f"{version}:poll:{seconds}",
                IntervalTrigger(seconds=seconds),
                self._poll_job(recipe_id),
            )
        elif isinstance(trigger, ScheduleTrigger):
            schedules[recipe_id] = Schedule(recipe_id, version, trigger.job_spec(spec.get("config") or {}))

    def _recipes_mark(self) -> tuple[Any, ...]:
        """Changes whenever a recipe is added, changed, enabled, disabled or deleted: one aggregate
        query, so a hub with 10,000 webhook recipes does not re-read them all every few seconds."""
        enabled = func.sum(case((Recipe.enabled.is_(True), 1), else_=0))
        with self.rt.db.read() as session:
            return tuple(session.execute(select(func.count(), enabled, func.max(Recipe.updated_at))).one())

    def sync_jobs(self) -> None:
        try:
            mark = self._recipes_mark()
            if mark == self._synced_mark:
                return
            wanted, schedules = self.wanted_jobs()
        except Exception as exc:
            log.warning("event=sync_failed error=%s", describe(exc), exc_info=not is_transient(exc))
            return
        for job_id in list(self._jobs):
            if job_id not in wanted:
                self._aps.remove_job(job_id)
                del self._jobs[job_id]
        for job_id, (signature, aps_trigger, job) in wanted.items():
            if self._jobs.get(job_id) == signature:
                continue
            if job_id in self._jobs:
                self._aps.remove_job(job_id)
                first = aps_trigger.get_next_fire_time(None, utcnow())
            else:
                first = utcnow() + timedelta(seconds=1)  # a new polling recipe primes right away
            self._aps.add_job(job, aps_trigger, id=job_id, next_run_time=first)
            self._jobs[job_id] = signature
        if schedules != self._schedules:
            self._schedules = schedules
        self._synced_mark = mark

    def jobs(self) -> list[Any]:
        """The APScheduler jobs this scheduler holds (for status pages and tests)."""
        return self._aps.get_jobs()

    def schedules(self) -> dict[int, Schedule]:
        """The enabled schedules as of the last sync (recipe id -> Schedule)."""
        return self._schedules or {}

    def _poll_job(self, recipe_id: int) -> Any:
        polling = DatabaseBackoff(f"poll:{recipe_id}")

        def job() -> None:
            if self.is_leader:
                try:
                    polling.run(lambda: poll_recipe(self.rt, recipe_id))
                except Exception:
                    log.exception("event=poll_job_failed recipe=%s", recipe_id)

        return job
