"""google_forms: outputs declared for every trigger, secrets marked write-only."""

from __future__ import annotations

from connectors.google_forms import connector


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
