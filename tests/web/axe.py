"""axe-core (from npm) run in Debian's Chromium: the accessibility rules a page breaks.

axe-core is installed into build/axe/ with `npm install` when missing (.ci/run installs it the same
way). In CI a missing axe-core fails the test; elsewhere, without npm or the registry, it is skipped
with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
AXE_DIR = ROOT / "build" / "axe"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
AXE_PACKAGE = "axe-core@4"
SERIOUS = ("serious", "critical")

RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary.replace(/\\s+/g, ' '))}));
}"""


def axe_script() -> Path:
    """The path of axe.min.js, installing axe-core with npm first if needed."""
    if AXE_SCRIPT.exists():
        return AXE_SCRIPT
    npm = shutil.which("npm")
    problem = "npm is not installed"
    if npm is not None:
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--prefix", str(AXE_DIR), "--no-audit", "--no-fund", "--no-save", AXE_PACKAGE],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode == 0 and AXE_SCRIPT.exists():
            return AXE_SCRIPT
        problem = f"`npm install {AXE_PACKAGE}` failed: {done.stderr.strip()[-500:]}"
    if os.environ.get("CI"):
        pytest.fail(f"axe-core is needed in CI and {problem}")
    pytest.skip(f"accessibility checks skipped outside CI: {problem} (run .ci/run, or npm install axe-core)")


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now.

    The page's Content-Security-Policy allows no inline script, so the browser context that opened it
    must be made with bypass_csp=True for axe to be added."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_script()))
    return [v for v in page.evaluate(RUN) if v["impact"] in SERIOUS]
