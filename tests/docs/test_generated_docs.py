"""docs/api.md and docs/cli.md are generated; these tests fail when a committed page is stale."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from hub import clidoc
from hub.api import docgen
from hub.api.openapi import document
from hub.cli import main
from hub.registry import built_in_registry, default_registry

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_docs_api_md_is_generated_from_the_openapi_document() -> None:
    expected = docgen.markdown(document(built_in_registry()))
    assert (DOCS / "api.md").read_text(encoding="utf-8") == expected, (
        "docs/api.md is stale: regenerate it with `hub openapi --markdown --built-in > docs/api.md`"
    )


def test_docs_cli_md_is_generated_from_the_commands() -> None:
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == clidoc.markdown(main), (
        "docs/cli.md is stale: regenerate it with `hub commands --markdown > docs/cli.md`"
    )


def test_the_api_reference_has_every_operation_and_parameter() -> None:
    doc = document(built_in_registry())
    page = docgen.markdown(doc)
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            assert f"### `{method.upper()} {path}`" in page
            for parameter in operation.get("parameters", ()):
                assert f"| `{parameter['name']}` | {parameter['in']} |" in page
    for name in doc["components"]["schemas"]:
        assert f"### {name}\n" in page


def test_schema_lines_carry_limits_and_shorten_long_enums() -> None:
    assert docgen.describe({"type": "integer", "minimum": 1, "maximum": 200, "default": 50}) == (
        "integer, ≥ 1, ≤ 200, default `50`"
    )
    long = docgen.describe({"enum": [f"c{n}" for n in range(19)]})
    assert long.startswith('one of 19: `"c0"`') and "c18" not in long
    assert (
        docgen.describe({"$ref": "#/components/schemas/Recipe_step"}) == "[Recipe_step](#schema-recipe-step)"
    )


def test_the_command_reference_has_every_command_and_option() -> None:
    page = clidoc.markdown(main)
    ctx = click.Context(main, info_name="hub")
    for name in main.list_commands(ctx):
        command = main.get_command(ctx, name)
        assert f"## `hub {name}`" in page
        for option in (p for p in command.params if isinstance(p, click.Option)):
            assert f"`{option.opts[0]}`" in page
    assert "## `hub users create`" in page and "`admin` \\| `editor` \\| `viewer`" in page


def test_hub_openapi_prints_the_served_document() -> None:
    result = CliRunner().invoke(main, ["openapi"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == json.loads(json.dumps(document(default_registry())))


def test_hub_openapi_markdown_prints_the_reference() -> None:
    result = CliRunner().invoke(main, ["openapi", "--markdown", "--built-in"])
    assert result.exit_code == 0, result.output
    assert result.output == docgen.markdown(document(built_in_registry()))
