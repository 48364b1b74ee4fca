"""Every connector the project ships passes the same contract a third-party package runs on itself
(hub.sdk.testing): installed through its entry point, valid schemas, samples matching them."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from hub.sdk.testing import ConnectorContract

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
SHIPPED = sorted(tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"]["hub.connectors"])


class TestShippedConnectors(ConnectorContract):
    """The contract, once per connector named in pyproject's entry points."""

    @pytest.fixture(params=SHIPPED)
    def contract_connector_id(self, request: pytest.FixtureRequest) -> str:
        return request.param
