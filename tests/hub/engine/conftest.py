from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.config import Settings
from hub.connections import create_connection
from hub.engine.executor import InlineExecutor
from hub.runtime import Runtime
from tests.hub.engine.kit import EngineKit, kit_registry


@pytest.fixture
def kit_rt(settings: Settings) -> Iterator[tuple[Runtime, EngineKit]]:
    registry, kit = kit_registry()
    rt = Runtime.create(settings, registry=registry)
    rt.executor = InlineExecutor(rt)
    with rt.db.transaction() as session:
        create_connection(
            session,
            registry,
            rt.vault,
            name="kit",
            connector_id="enginekit",
            config={"api_key": "sk_live_SECRET123"},
        )
    yield rt, kit
    rt.close()
