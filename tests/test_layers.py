"""The layers of the hub import downwards only.

- hub/web (the pages) and hub/api (the JSON endpoints) are siblings: both call hub/services for
  what changes things and hub/presentation for how things look; the UI never imports the API.
- hub/services know nothing of HTTP: no Flask, no blueprint modules.
- hub.app builds the Flask app from the blueprints; nothing it imports imports it back (the
  blueprints find the Runtime through hub.current), so only the CLI and tests import it.
- Connectors, built in (connectors/) or third-party (examples/), import nothing of the hub but
  hub.sdk: the engine, storage and web layers change under them; hub.sdk is the surface that stays.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HUB = ROOT / "hub"


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in a file, nested ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            if node.module == "hub":  # `from hub import x` imports hub.x
                modules = [f"hub.{alias.name}" for alias in node.names]
            found += [(node.lineno, module) for module in modules]
    return found


def offending(tree: Path, forbidden: tuple[str, ...], base: Path = ROOT) -> list[str]:
    """`file:line imports module` for each import of a forbidden module (or a module inside one)."""
    files = [tree] if tree.is_file() else sorted(tree.rglob("*.py"))
    return [
        f"{path.relative_to(base)}:{line} imports {module}"
        for path in files
        for line, module in imported_modules(path)
        if any(module == name or module.startswith(f"{name}.") for name in forbidden)
    ]


def test_connectors_import_only_the_sdk() -> None:
    trees = [ROOT / "connectors", ROOT / "examples"]
    files = [path for tree in trees for path in sorted(tree.rglob("*.py")) if "tests" not in path.parts]
    assert len(files) > 50
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in files
        for line, module in imported_modules(path)
        if module.startswith("hub.") and not (module == "hub.sdk" or module.startswith("hub.sdk."))
    ]
    assert not wrong, "connectors may import only hub.sdk:\n" + "\n".join(wrong)


def test_the_web_ui_does_not_import_the_api_or_the_app() -> None:
    assert offending(HUB / "web", ("hub.api", "hub.app")) == []


def test_services_know_nothing_of_http() -> None:
    assert len(list((HUB / "services").glob("*.py"))) >= 5
    forbidden = ("flask", "werkzeug", "flask_babel", "hub.api", "hub.web", "hub.current", "hub.app")
    assert offending(HUB / "services", forbidden) == []
    assert offending(HUB / "presentation.py", forbidden) == []


def test_only_the_cli_imports_the_app_module() -> None:
    found = [hit for hit in offending(HUB, ("hub.app",)) if not hit.startswith("hub/cli.py:")]
    assert found == []


def test_the_blueprints_load_without_the_app_module() -> None:
    code = (
        "import sys, hub.api, hub.web, hub.ingress, hub.oauth_flow, hub.services.recipes; "
        "print('hub.app' in sys.modules)"
    )
    answer = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert answer.stdout.strip() == "False"


def test_the_rule_sees_every_form_of_import(tmp_path: Path) -> None:
    (tmp_path / "sample.py").write_text(
        "import hub.api.views\nfrom hub import app\nimport flasky\ndef f():\n    from flask import g\n"
    )
    assert offending(tmp_path, ("hub.api", "hub.app", "flask"), base=tmp_path) == [
        "sample.py:1 imports hub.api.views",
        "sample.py:2 imports hub.app",
        "sample.py:5 imports flask",
    ]
