"""google_forms: outputs declared for every trigger, secrets marked write-only."""

from __future__ import annotations

import hashlib

from connectors.google_forms import connector
from tests.connectors.google_forms.discovery import SPEC, discovery


def test_every_trigger_declares_its_output_for_the_data_picker() -> None:
    # schema validity and sample matching: tests/connectors/test_connector_contracts.py
    assert all(trigger.output_schema is not None for trigger in connector.trigger_map.values())


def test_secrets_are_write_only() -> None:
    assert {
        "client_secret",
        "access_token",
        "refresh_token",
        "service_account_json",
    } <= connector.secret_fields()
    assert "subject" not in connector.secret_fields()


def test_the_discovery_fixture_is_the_file_its_source_note_names() -> None:
    # fixtures/SOURCE.md records where the vendor document came from; a changed file needs a new note
    note = (SPEC.parent / "SOURCE.md").read_text(encoding="utf-8")
    digest = hashlib.sha256(SPEC.read_bytes()).hexdigest()
    assert f"sha256: `{digest}`" in note
    assert discovery()["revision"] in note
