"""Recipe documents as text, through each door: the API, the editor's JSON/YAML view and `hub recipes
import` take the same formats by the same rules, so nothing one door refuses can enter by another."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hub.documents import DocumentError, parse_document

BAD = {
    "json NaN": ('{"name": NaN}', "json", "NaN"),
    "json lone surrogate": ('{"name": "\\ud800"}', "json", "surrogate"),
    "json deep": ("[" * 300 + "]" * 300, "json", "nesting"),
    "yaml nan": ("name: .nan\n", "yaml", "YAML"),
    "yaml alias": ("a: &x [1]\nb: *x\n", "yaml", "aliases"),
    "yaml NUL": ('name: "a\\0b"\n', "yaml", "YAML"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_every_format_refuses_what_cannot_be_stored(case: str) -> None:
    text, fmt, hint = BAD[case]
    with pytest.raises(DocumentError, match=hint):
        parse_document(text, fmt)  # type: ignore[arg-type]


def test_good_documents_read_the_same_in_both_formats() -> None:
    assert parse_document('{"name": "x", "n": 1.5}', "json") == parse_document("name: x\nn: 1.5\n", "yaml")


@pytest.mark.parametrize("case", ["json NaN", "yaml nan"])
def test_the_api_answers_400_naming_the_format(
    case: str, client: Any, headers: dict[str, dict[str, str]]
) -> None:
    text, fmt, _ = BAD[case]
    answer = client.post(
        "/api/v1/recipes", data=text, content_type=f"application/{fmt}", headers=headers["editor"]
    )
    assert answer.status_code == 400
    assert fmt.upper() in answer.get_json()["error"]["message"]


def test_the_cli_refuses_the_file_and_names_it(
    runtime: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.cli import main

    bad = tmp_path / "bad.json"
    bad.write_text('{"name": NaN}')
    monkeypatch.setenv("HUB_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("HUB_HOME", str(runtime.settings.home))
    monkeypatch.setenv("HUB_VAULT_KEYS", runtime.settings.vault_keys)
    result = CliRunner().invoke(main, ["recipes", "import", str(bad)])
    assert result.exit_code != 0
    assert "bad.json: not valid JSON" in result.output
