"""A hub runtime on SQLite with a Flask test client, to drive real `/hooks/<token>` ingress in tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from hub.app import create_app
from hub.connections import create_connection
from hub.db.models import Event, Run
from hub.engine.executor import InlineExecutor
from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime
from tests.conftest import make_settings


class HubKit:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        app = create_app(runtime)
        app.config["TESTING"] = True
        self.client = app.test_client()

    def connection(self, name: str, connector_id: str, config: dict[str, Any]) -> None:
        with self.runtime.db.transaction() as session:
            create_connection(
                session,
                self.runtime.registry,
                self.runtime.vault,
                name=name,
                connector_id=connector_id,
                config=config,
            )

    def recipe(self, trigger: dict[str, Any]) -> str:
        """Save a one-trigger recipe; returns the hook path (`/hooks/<token>`), or "" for polling."""
        with self.runtime.db.transaction() as session:
            recipe = save_recipe(session, self.runtime, {"name": "t", "trigger": trigger, "steps": []})
            url = hook_urls(session, self.runtime, recipe).get("webhook_url", "")
        return "/hooks/" + url.split("/hooks/")[1] if url else ""

    def url(self, path: str) -> str:
        return f"{self.runtime.settings.base_url}{path}"

    def counts(self) -> tuple[int, int]:
        with self.runtime.db.transaction() as session:
            return session.scalar(select(func.count(Event.id))), session.scalar(select(func.count(Run.id)))

    def events(self) -> list[dict[str, Any]]:
        with self.runtime.db.transaction() as session:
            return [e.payload for e in session.scalars(select(Event).order_by(Event.id))]


@contextmanager
def hub_kit(tmp_path: Path) -> Iterator[HubKit]:
    runtime = Runtime.create(make_settings(tmp_path / "home", f"sqlite:///{tmp_path / 'hub.db'}"))
    runtime.executor = InlineExecutor(runtime)
    try:
        yield HubKit(runtime)
    finally:
        runtime.close()
