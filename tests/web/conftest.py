"""A hub app on SQLite with an admin, an editor and a viewer, for test-client tests of the UI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from hub.app import create_app
from hub.engine.executor import InlineExecutor
from hub.runtime import Runtime
from hub.users import create_user
from tests.conftest import installed_connectors, make_settings
from tests.web.helpers import PASSWORD


@pytest.fixture
def web_runtime(tmp_path: Path) -> Iterator[Runtime]:
    settings = make_settings(tmp_path / "home", f"sqlite:///{tmp_path / 'hub.db'}")
    rt = Runtime.create(settings, registry=installed_connectors())
    rt.executor = InlineExecutor(rt)
    with rt.db.transaction() as db:
        for email, role in (
            ("admin@example.com", "admin"),
            ("ed@example.com", "editor"),
            ("vi@example.com", "viewer"),
        ):
            create_user(db, email, role, PASSWORD)
    yield rt
    rt.close()


@pytest.fixture
def web_app(web_runtime: Runtime) -> Flask:
    app = create_app(web_runtime)
    app.config["TESTING"] = True
    return app


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Tell the reviewer where the browser tests left their screenshots."""
    from tests.web.test_browser import SHOTS

    if SHOTS.exists():
        terminalreporter.write_line(f"UI screenshots: {SHOTS}")
