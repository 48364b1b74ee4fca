"""The hub's wheel carries the files hub.recipes and hub.templates read at run time: the recipe and
template schemas and the template catalogue (recipes/, installed next to the hub package)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_the_schemas_and_every_template(tmp_path: Path) -> None:
    source = tmp_path / "src"  # built from a copy, so the checkout never gains build folders
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("hub", "connectors", "recipes"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {"recipes/recipe.schema.json", "recipes/template.schema.json", "hub/recipes.py"}
    wanted |= {f"recipes/templates/{path.name}" for path in (ROOT / "recipes" / "templates").glob("*.json")}
    assert wanted <= names, sorted(wanted - names)
