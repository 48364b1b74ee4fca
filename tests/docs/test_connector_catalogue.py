"""`hub connectors list`, run as a user would, shows every connector of the catalogue and each built-in
utility, and each has a doc page that names every trigger and action the CLI lists."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
OLDER = {
    "webhook", "http", "schedule", "email", "twilio", "aliyun_sms", "dingtalk", "feishu", "docusign",
    "esign", "kingdee", "quickbooks", "xero", "typeform", "jotform", "jinshuju", "google_forms",
    "hubspot", "salesforce",
}  # fmt: skip
WAVE_3 = {"yonyou", "jiandaoyun", "fxiaoke", "xiaoshouyi", "wecom", "zoho_crm", "fadada"}
UTILITIES = {"storage", "assign"}
# Built-in connectors documented with the feature they belong to rather than on a page of their own.
ELSEWHERE = {"recipe": "docs/recipes.md"}  # sub-recipes: part of the recipe language


def listed(tmp_path: Path) -> dict[str, list[str]]:
    """id -> [name, category, triggers, actions] as `hub connectors list` prints them."""
    env = {**os.environ, "HUB_HOME": str(tmp_path / "home"), "HUB_VAULT_KEYS": Fernet.generate_key().decode()}
    done = subprocess.run(
        [sys.executable, "-m", "hub", "connectors", "list"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines() if line.strip()]
    assert all(len(row) == 5 for row in rows), done.stdout
    return {row[0]: row[1:] for row in rows}


def doc_page(connector_id: str, category: str) -> Path:
    """docs/connectors/<id>.md for a vendor connector, docs/utilities/<id>.md for a built-in utility."""
    if connector_id in ELSEWHERE:
        return ROOT / ELSEWHERE[connector_id]
    page = ROOT / "docs" / "connectors" / f"{connector_id}.md"
    utility_page = ROOT / "docs" / "utilities" / f"{connector_id}.md"
    return utility_page if category == "utility" and not page.exists() else page


def test_every_connector_and_utility_is_listed_with_a_page_naming_its_triggers_and_actions(
    tmp_path: Path,
) -> None:
    assert len(OLDER) == 19 and len(WAVE_3) == 7 and not OLDER & WAVE_3
    catalogue = listed(tmp_path)
    missing = (OLDER | WAVE_3 | UTILITIES) - set(catalogue)
    assert not missing, f"not listed by `hub connectors list`: {sorted(missing)}"
    for connector_id in UTILITIES:
        assert catalogue[connector_id][1] == "utility", connector_id
        assert doc_page(connector_id, "utility").parent.name == "utilities", connector_id
    for connector_id in OLDER | WAVE_3:
        assert doc_page(connector_id, catalogue[connector_id][1]).parent.name == "connectors", connector_id
    for connector_id, (name, category, triggers, actions) in catalogue.items():
        page = doc_page(connector_id, category)
        assert page.is_file(), f"{connector_id} ({name}) has no doc page at {page.relative_to(ROOT)}"
        text = page.read_text(encoding="utf-8")
        assert text.startswith("# "), f"{page.relative_to(ROOT)} has no title"
        keys = [k for k in (*triggers.split(","), *actions.split(",")) if k != "-"]
        unnamed = [k for k in keys if f"`{k}`" not in text and f"`{connector_id}.{k}`" not in text]
        assert not unnamed, f"{page.relative_to(ROOT)} does not describe {unnamed}"


def test_no_doc_page_is_left_for_a_connector_that_is_not_listed(tmp_path: Path) -> None:
    catalogue = set(listed(tmp_path))
    pages = {p.stem for p in (ROOT / "docs" / "connectors").glob("*.md")}
    assert pages - catalogue == set()
