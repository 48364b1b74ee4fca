from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hub.app import create_app
from hub.config import Settings
from hub.engine.executor import InlineExecutor
from hub.runtime import Runtime
from hub.users import create_token, create_user
from tests.hub.engine.kit import EngineKit, kit_registry


@pytest.fixture
def api(settings: Settings) -> Iterator[tuple[Any, Runtime, EngineKit, dict[str, dict[str, str]]]]:
    """A Flask test client, its runtime, the scriptable connector and a token header per role."""
    registry, kit = kit_registry()
    rt = Runtime.create(settings, registry=registry)
    rt.executor = InlineExecutor(rt)
    headers: dict[str, dict[str, str]] = {}
    with rt.db.transaction() as session:
        for role in ("admin", "editor", "viewer"):
            user = create_user(session, f"{role}@example.com", role, password="a long passphrase")
            headers[role] = {"Authorization": f"Bearer {create_token(session, user, 'tests')[1]}"}
    app = create_app(rt)
    yield app.test_client(), rt, kit, headers
    rt.close()
