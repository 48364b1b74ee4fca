"""Connectors, built in or third-party, import nothing of the hub but `hub.sdk`.

The engine, storage and web layers may change under a connector at any time; `hub.sdk` is the
surface that stays. A connector that reaches past it breaks silently on the next refactor.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONNECTOR_TREES = [ROOT / "connectors", ROOT / "examples"]


def _hub_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a `hub` module in a file, including nested imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            if node.module == "hub":  # `from hub import x` imports hub.x
                modules = [f"hub.{alias.name}" for alias in node.names]
            found += [(node.lineno, module) for module in modules]
    return [(line, module) for line, module in found if module == "hub" or module.startswith("hub.")]


def _outside_the_sdk(module: str) -> bool:
    return not (module == "hub.sdk" or module.startswith("hub.sdk."))


def test_connectors_import_only_the_sdk() -> None:
    files = [path for tree in CONNECTOR_TREES for path in sorted(tree.rglob("*.py"))]
    assert len(files) > 50
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in files
        for line, module in _hub_imports(path)
        if _outside_the_sdk(module) and not path.name.startswith("test_") and "tests" not in path.parts
    ]
    assert not wrong, "connectors may import only hub.sdk:\n" + "\n".join(wrong)


def test_the_rule_sees_every_form_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import hub.vault\nfrom hub import jsonutil\nfrom hub.sdk import Context\n"
        "def f():\n    from hub.engine.runner import Runner\n"
    )
    modules = [module for _, module in _hub_imports(sample)]
    assert modules == ["hub.vault", "hub.jsonutil", "hub.sdk", "hub.engine.runner"]
    assert [m for m in modules if _outside_the_sdk(m)] == ["hub.vault", "hub.jsonutil", "hub.engine.runner"]
