"""The recipes shown in docs/utilities/ are valid recipes (connection `crm` standing for an http one)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hub.recipes import validate_document
from hub.registry import default_registry

DOCS = Path(__file__).resolve().parents[2] / "docs" / "utilities"
RECIPES = [
    (path.name, block)
    for path in sorted(DOCS.glob("*.md"))
    for block in re.findall(r"```json\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
    if block.lstrip().startswith("{\n")
]


def test_every_utility_page_shows_a_recipe() -> None:
    assert {name for name, _ in RECIPES} == {path.name for path in DOCS.glob("*.md")}


@pytest.mark.parametrize(("page", "block"), RECIPES)
def test_the_example_recipe_is_valid(page: str, block: str) -> None:
    validate_document(json.loads(block), default_registry(), lambda name: "http" if name == "crm" else None)
