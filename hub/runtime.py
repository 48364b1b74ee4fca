"""The hub's parts wired together once per process; the web app, scheduler, workers and CLI share it.

It never imports Flask, so every entry point (and every test) calls the same code.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select

from hub.config import Settings
from hub.db.models import Connection, Meta
from hub.db.session import Database
from hub.engine.limits import ConnectionLimiter, Limiter
from hub.metrics import Metrics
from hub.recipe_index import RecipeIndex
from hub.registry import Registry, default_registry
from hub.sdk import tls
from hub.vault import Vault, load_keys
from hub.vault_rotation import VAULT_CHECK_KEY, upgrade_legacy_secrets

if TYPE_CHECKING:
    from hub.engine.executor import Executor
    from hub.engine.run.fresh import FreshRun

log = logging.getLogger("hub.runtime")


def process_id() -> str:
    """A name for this process, unique across restarts, for leases."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def open_vault(settings: Settings, db: Database) -> Vault:
    """Load the vault keys and prove they read this database's secrets; never generate over data."""
    with db.transaction() as session:
        check = session.get(Meta, VAULT_CHECK_KEY)
        has_secrets = (
            check is not None
            or session.scalar(select(Connection.id).where(Connection.secrets.is_not(None)).limit(1))
            is not None
        )
        vault = Vault(load_keys(settings.vault_keys, settings.home, allow_generate=not has_secrets))
        if check is None:
            session.add(Meta(key=VAULT_CHECK_KEY, value=vault.check_token()))
        else:
            vault.verify_check(check.value)
    return vault


@dataclass
class Runtime:
    settings: Settings
    db: Database
    vault: Vault
    registry: Registry
    limiter: Limiter = field(default_factory=ConnectionLimiter)
    metrics: Metrics = field(default_factory=Metrics)
    owner: str = field(default_factory=process_id)
    executor: Executor | None = None
    recipes: RecipeIndex = field(init=False)  # what this process remembers of recipes

    def __post_init__(self) -> None:
        self.recipes = RecipeIndex(self.db)

    @classmethod
    def create(
        cls, settings: Settings | None = None, *, migrate: bool = True, registry: Registry | None = None
    ) -> Runtime:
        settings = settings or Settings.from_env()
        settings.ensure_home()
        tls.trust_ca_bundle(settings.ca_bundle)
        if migrate:
            from hub.db.migrate import upgrade  # Alembic costs ~10 MB: only loaded where it is used

            upgrade(settings.database_url)
        db = Database(settings.database_url, busy_timeout_s=settings.sqlite_busy_timeout_s)
        vault = open_vault(settings, db)
        registry = registry or default_registry()
        upgrade_legacy_secrets(db, vault, registry)
        runtime = cls(
            settings=settings,
            db=db,
            vault=vault,
            registry=registry,
            metrics=Metrics(settings.metrics_max_recipes),
        )
        if settings.limiter == "database":  # limits shared by every process on this database
            from hub.engine.cluster_limits import DatabaseLimiter

            runtime.limiter = DatabaseLimiter(db, runtime.owner, settings.lease_s)
        return runtime

    def dispatch(self, run_ids: list[int], fresh: Mapping[int, FreshRun] | None = None) -> None:
        """Hand stored runs to the executor; runs left undispatched are found by the sweeper. `fresh`:
        runs this process just stored, with their rows and events (hub/engine/run/fresh.py)."""
        if self.executor is not None:
            for run_id in run_ids:
                self.executor.submit(run_id, fresh.get(run_id) if fresh else None)

    def make_room(self) -> None:
        """Hold a webhook's answer while this process's runs are behind (hub/engine/pacing.py)."""
        if self.executor is not None:
            held = self.executor.make_room()
            if held:
                self.metrics.ack_held(held)

    def dispatch_branches(self, branch_ids: list[int]) -> None:
        """Hand spread branches (Celery only) to the executor; the sweeper sends any left behind."""
        submit = getattr(self.executor, "submit_branch", None)
        if submit is not None:
            for branch_id in branch_ids:
                submit(branch_id)

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True)  # runs in progress finish; queued ones stay stored
        self.db.dispose()
