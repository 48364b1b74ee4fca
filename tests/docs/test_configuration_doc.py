"""docs/configuration.md names every HUB_* variable the hub reads, so a new setting cannot ship
undocumented (the variables are collected from the source, not from a list kept by hand)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ = re.compile(r"""["'](HUB_[A-Z0-9_]+)["']""")


def _variables_read() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "hub").rglob("*.py"):
        found |= set(READ.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_variable_the_hub_reads_is_documented() -> None:
    variables = _variables_read()
    assert {"HUB_HOME", "HUB_DATABASE_URL", "HUB_SCHEDULE_GRACE_S"} <= variables
    table = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = sorted(name for name in variables if f"`{name}`" not in table)
    assert not missing, f"add these to docs/configuration.md: {', '.join(missing)}"
