"""jinshuju: outputs declared for every trigger, secrets marked write-only."""

from __future__ import annotations

from connectors.jinshuju import connector


def test_every_trigger_declares_its_output_for_the_data_picker() -> None:
    # schema validity and sample matching: tests/connectors/test_connector_contracts.py
    assert all(trigger.output_schema is not None for trigger in connector.trigger_map.values())


def test_secrets_are_write_only_and_no_connection_is_needed_for_pushes() -> None:
    assert connector.secret_fields() == {"api_secret"}
    assert connector.needs_connection() is False
