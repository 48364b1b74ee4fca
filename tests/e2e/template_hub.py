"""A hub runtime on SQLite driving installed templates end to end: hook deliveries through the web
app, poll and schedule ticks as the scheduler makes them, delays fast-forwarded and polling waits
polled, until every run is over. Runs execute inline, so a test reads their outcome at once."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask.testing import FlaskClient
from sqlalchemy import select, update

from hub.app import create_app
from hub.connections import create_connection
from hub.db.clock import database_now
from hub.db.models import Run, StepRun, TriggerState, Wait, utcnow
from hub.engine.poller import poll_recipe
from hub.engine.schedules import fire_due, reconcile
from hub.engine.sweeper import sweep
from hub.engine.wait_poller import poll_waits
from hub.recipe_store import hook_urls
from hub.runtime import Runtime
from hub.scheduler import Scheduler
from hub.services import recipes as recipe_service
from hub.services import secrets as secret_service
from hub.templates import catalogue, install
from hub.utilities import tables
from tests.e2e.vendor_kit import VendorKit

ACTOR = "e2e@example.com"
FINAL = ("succeeded", "failed", "filtered", "cancelled")


class TemplateHub:
    """One runtime, the kit's connections, and the recipes installed from templates."""

    def __init__(self, rt: Runtime, kit: VendorKit) -> None:
        self.rt, self.kit = rt, kit
        self.client: FlaskClient = create_app(rt).test_client()
        self.connections: set[str] = set()

    # ------------------------------------------------------------------ set-up
    def connect(self, connector: str) -> str:
        """A connection of `connector` whose calls reach the kit; answers its name."""
        name = f"{connector}-kit"
        if name not in self.connections:
            with self.rt.db.transaction() as session:
                create_connection(
                    session,
                    self.rt.registry,
                    self.rt.vault,
                    name=name,
                    connector_id=connector,
                    config=self.kit.connection(connector),
                )
            self.connections.add(name)
        return name

    def install(self, template_name: str, overrides: dict[str, Any]) -> int:
        """Install with every value parameter's example (or the override), enable, answer the id."""
        values: dict[str, Any] = {}
        for parameter in catalogue.get(template_name).parameters:
            if parameter.kind == "connection":
                values[parameter.name] = self.connect(str(parameter.connector))
            else:
                values[parameter.name] = parameter.example
        values.update(overrides)
        recipe_id = install.install(self.rt, template_name, values, project=1, actor=ACTOR)
        recipe_service.set_enabled(self.rt, recipe_id, True, actor=ACTOR)
        return recipe_id

    def secret(self, name: str, value: str) -> None:
        secret_service.set_secret(self.rt, actor=ACTOR, name=name, value=value)

    def table(self, name: str, columns: list[str], key: str, rows: list[dict[str, Any]]) -> None:
        with self.rt.db.transaction() as session:
            tables.create(session, name, columns, key)
            tables.replace_rows(session, name, rows)

    # ------------------------------------------------------------------ firing triggers
    def hook_path(self, recipe_id: int) -> str:
        with self.rt.db.read() as session:
            url = hook_urls(session, self.rt, _Ref(recipe_id))["webhook_url"]
        return urlsplit(url).path

    def deliver(self, recipe_id: int, body: bytes, headers: dict[str, str], query: str = "") -> int:
        """POST a vendor's delivery to the recipe's hook; answers the HTTP status."""
        path = self.hook_path(recipe_id) + (f"?{query}" if query else "")
        return self.client.post(path, data=body, headers=headers).status_code

    def poll(self, recipe_id: int) -> dict[str, Any]:
        """One poll of the recipe's polling trigger, as the scheduler's job makes it."""
        with self.rt.db.transaction() as session:
            session.execute(
                update(TriggerState).where(TriggerState.recipe_id == recipe_id).values(next_poll_at=None)
            )
        return poll_recipe(self.rt, recipe_id)

    def tick(self) -> list[int]:
        """Fire the enabled schedules' latest slot, as the leading scheduler does when one is due."""
        _, schedules = Scheduler(self.rt).wanted_jobs()
        with self.rt.db.transaction() as session:
            reconcile(session, schedules, database_now(session) - timedelta(days=8))
        started = fire_due(self.rt, schedules, grace_s=9 * 86400)
        self.rt.dispatch(started)
        return started

    # ------------------------------------------------------------------ running to the end
    def settle(self, recipe_id: int, rounds: int = 20) -> list[Run]:
        """Wake delays at once, poll parked waits, sweep; until every run of the recipe is over."""
        for _ in range(rounds):
            found = self.runs(recipe_id)
            if found and all(run.status in FINAL for run in found):
                return found
            # A run parked by a connection's rate limit wakes when a slot is free: wait for it
            # (seconds), rather than pretend the slot came sooner.
            limited = [r.wake_at for r in found if r.status == "queued" and r.wake_at is not None]
            if limited:
                time.sleep(min(max(0.0, (min(limited) - utcnow()).total_seconds()) + 0.05, 10.0))
            past = utcnow() - timedelta(seconds=1)
            with self.rt.db.transaction() as session:
                session.execute(
                    update(Run)
                    .where(Run.recipe_id == recipe_id, Run.status == "waiting", Run.wake_at.is_not(None))
                    .values(wake_at=past)
                )
                session.execute(update(Wait).values(next_poll_at=past))
            poll_waits(self.rt)
            sweep(self.rt, fresh_s=0)
        return self.runs(recipe_id)

    def expire_waits(self) -> None:
        """Let every parked wait's timeout pass."""
        with self.rt.db.transaction() as session:
            session.execute(update(Wait).values(expires_at=utcnow() - timedelta(seconds=1)))

    def runs(self, recipe_id: int) -> list[Run]:
        with self.rt.db.read() as session:
            found = session.scalars(select(Run).where(Run.recipe_id == recipe_id).order_by(Run.id)).all()
            session.expunge_all()
            return list(found)

    def steps(self, run_id: int) -> dict[str, StepRun]:
        with self.rt.db.read() as session:
            found = session.scalars(select(StepRun).where(StepRun.run_id == run_id)).all()
            session.expunge_all()
            return {step.path: step for step in found}


class _Ref:
    def __init__(self, recipe_id: int) -> None:
        self.id = recipe_id
