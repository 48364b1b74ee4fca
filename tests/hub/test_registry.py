"""Connectors come from the `hub.connectors` entry-point group: a third party's package adds one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hub.registry import Registry, built_in_registry


def install_fake_distribution(root: Path) -> None:
    """What `pip install acme-hub-connector` leaves on sys.path: a module and its dist-info."""
    (root / "acme_hub.py").write_text(
        "from hub.sdk.connector import Action, Connector\n"
        "class Ping(Action):\n"
        "    key = 'ping'\n"
        "    def perform(self, ctx, inputs):\n"
        "        return {'pong': True}\n"
        "class Acme(Connector):\n"
        "    id, name, category, actions = 'acme', 'Acme CRM', 'crm', (Ping,)\n"
        "connector = Acme()\n"
    )
    (root / "acme_broken.py").write_text("raise RuntimeError('broken plugin')\n")
    dist = root / "acme_hub_connector-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-hub-connector\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[hub.connectors]\nacme = acme_hub:connector\nbroken = acme_broken:connector\n"
    )


def test_installed_package_adds_a_connector_and_a_broken_one_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_fake_distribution(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry()
    registry.load_entry_points()
    acme = registry.get("acme")
    assert acme is not None and acme.action("ping") is not None
    assert registry.source("acme") == "acme-hub-connector"
    assert registry.source("webhook") == "integration-hub"  # built-ins register the same way
    assert registry.get("broken") is None
    sys.modules.pop("acme_hub", None)


def test_an_id_clash_keeps_the_first_source() -> None:
    registry = Registry()
    registry.load_entry_points()
    from connectors.http import HttpConnector

    class Impostor(HttpConnector):
        name = "impostor"

    kept = registry.register(Impostor(), source="someone-else")
    assert kept.name == "HTTP" and registry.source("http") == "integration-hub"


def test_the_built_in_registry_leaves_out_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_fake_distribution(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = built_in_registry()
    assert registry.get("acme") is None and registry.get("webhook") is not None
    assert {registry.source(c.id) for c in registry.all()} == {"integration-hub"}
    sys.modules.pop("acme_hub", None)
