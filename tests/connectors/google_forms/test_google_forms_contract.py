"""google_forms: schemas are valid JSON Schema, samples match their output schema, secrets are marked."""

from __future__ import annotations

from jsonschema import Draft202012Validator

from connectors.google_forms import connector
from hub.registry import default_registry


def test_schemas_are_valid_and_samples_match_outputs() -> None:
    Draft202012Validator.check_schema(connector.connection_schema())
    for trigger in connector.trigger_map.values():
        Draft202012Validator.check_schema(trigger.config_schema)
        assert trigger.output_schema is not None
        Draft202012Validator.check_schema(trigger.output_schema)
        errors = list(Draft202012Validator(trigger.output_schema).iter_errors(trigger.sample))
        assert not errors, f"{trigger.key}: {errors[0].message}"


def test_installed_through_the_entry_point() -> None:
    found = default_registry().get("google_forms")
    assert found is not None and found.id == "google_forms"


def test_secrets_are_write_only() -> None:
    assert {
        "client_secret",
        "access_token",
        "refresh_token",
        "service_account_json",
    } <= connector.secret_fields()
    assert "subject" not in connector.secret_fields()
