"""The repository stands on its own: nothing in it points at files outside it.

A user clones only this repository, so docs, code and tests may not send anyone (or read anything)
outside it: no sibling folders, no absolute paths of the machine the project was written on.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("README.md", "CONTRIBUTING.md", "SECURITY.md", "CHANGELOG.md", "pyproject.toml")
FOLDERS = ("docs", "hub", "connectors", "tests", "bench", "deploy", "scripts", "recipes", ".ci")
SUFFIXES = {".md", ".py", ".toml", ".json", ".yml", ".yaml", ".sh", ".cfg", ".ini", ".txt", ".example", ""}
# A sibling folder (`../shared/...`) or a path under the workspace the project was built in.
OUTSIDE = re.compile(r"\.\./shared\b|(?<![\w.])/work/")


def _files() -> list[Path]:
    found = [ROOT / name for name in SCANNED if (ROOT / name).is_file()]
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in SUFFIXES and "__pycache__" not in path.parts:
                found.append(path)
    return found


def test_nothing_points_outside_the_repository() -> None:
    offenders = []
    for path in _files():
        if path == Path(__file__).resolve():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not offenders, "paths outside the repository:\n" + "\n".join(offenders)


def test_the_scan_sees_the_whole_tree() -> None:
    scanned = {path.relative_to(ROOT).as_posix() for path in _files()}
    assert {"README.md", "hub/config.py", "tests/conftest.py", "docs/deployment.md"} <= scanned


def test_the_licence_file_matches_the_spdx_expression_in_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_the_project_documents_it_promises_exist() -> None:
    for name in ("LICENSE", "CONTRIBUTING.md", "CHANGELOG.md", "SECURITY.md"):
        assert (ROOT / name).is_file(), f"{name} is missing"
    for page in ("configuration", "recipes", "api", "cli", "architecture", "deployment"):
        assert (ROOT / "docs" / f"{page}.md").is_file(), f"docs/{page}.md is missing"
