"""Every connector the project ships: installed through its entry point, every schema it declares is
valid JSON Schema, and its samples match the output schemas it declares (the UI's data picker and
recipe validation rely on both)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from hub.registry import default_registry

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
SHIPPED = sorted(tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"]["hub.connectors"])


def check(schema: dict | None, sample: object, where: str) -> None:
    if schema is None:
        return
    Draft202012Validator.check_schema(schema)
    errors = list(Draft202012Validator(schema).iter_errors(sample))
    assert not errors, f"{where}: sample does not match the output schema: {errors[0].message}"


@pytest.mark.parametrize("connector_id", SHIPPED)
def test_shipped_connector_is_installed_and_its_schemas_hold(connector_id: str) -> None:
    connector = default_registry().get(connector_id)
    assert connector is not None, f"{connector_id}: the entry point did not load"
    Draft202012Validator.check_schema(connector.connection_schema())
    for trigger in connector.trigger_map.values():
        Draft202012Validator.check_schema(trigger.config_schema)
        check(trigger.output_schema, trigger.sample, f"{connector_id}.{trigger.key}")
    for action in connector.action_map.values():
        Draft202012Validator.check_schema(action.input_schema)
        check(action.output_schema, action.sample_output, f"{connector_id}.{action.key}")
