"""Numbers read from JSON bodies are Decimals: a whole one (8.0) is still a JSON Schema integer."""

from __future__ import annotations

import pytest

from hub import jsonutil
from hub.documents import parse_document
from hub.recipes import validate_against
from hub.sdk.errors import RecipeError

PORT = {"type": "object", "properties": {"port": {"type": "integer", "minimum": 1}}}


@pytest.mark.parametrize("body", ['{"port": 993}', '{"port": 993.0}', '{"port": 9.93e2}'])
def test_a_whole_number_in_any_spelling_is_an_integer(body: str) -> None:
    validate_against(PORT, jsonutil.loads(body), "$.config", allow_templates=False)


@pytest.mark.parametrize("body", ['{"port": 993.5}', '{"port": true}', '{"port": "993"}'])
def test_anything_else_is_not(body: str) -> None:
    with pytest.raises(RecipeError, match=r"\$\.config\.port"):
        validate_against(PORT, jsonutil.loads(body), "$.config", allow_templates=False)


def test_a_whole_float_from_yaml_is_an_integer() -> None:
    """A recipe uploaded as YAML carries floats, not Decimals."""
    config = parse_document("port: 993.0", "yaml")
    assert isinstance(config["port"], float)
    validate_against(PORT, config, "$.config", allow_templates=False)


@pytest.mark.parametrize("port", [993.5, float("inf"), float("nan")])
def test_a_float_with_a_fraction_or_no_value_is_not(port: float) -> None:
    with pytest.raises(RecipeError, match=r"\$\.config\.port"):
        validate_against(PORT, {"port": port}, "$.config", allow_templates=False)
