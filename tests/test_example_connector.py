"""The third-party route, end to end: the example connector package (examples/acme_crm) is built
and installed into a folder of its own, outside this checkout's import path, then its own tests run
in a separate pytest process. They find the connector through its entry point and the contract
suite through the hub's pytest plugin, as a connector author's CI would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from hub.sdk.testing import ConnectorContract

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "acme_crm"


def test_the_example_package_installs_and_passes_the_contract(tmp_path: Path) -> None:
    site, source = tmp_path / "site", tmp_path / "source"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    pip_install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    built = subprocess.run(
        [*pip_install, "--no-index", "--target", str(site), str(source)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    assert (site / "acme_crm" / "__init__.py").exists()
    # Its tests run from a copy, in a fresh process, with the package importable only from `site`
    # (built from a copy too, so the checkout never gains build folders).
    shutil.copytree(source / "tests", tmp_path / "tests")
    env = {**os.environ, "PYTHONPATH": str(site)}
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), "tests"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-2000:]
    contract = [name for name in dir(ConnectorContract) if name.startswith("test_")]
    assert len(contract) >= 8
    for name in contract:
        assert f"TestAcmeCrmContract::{name} PASSED" in ran.stdout, name
    assert "test_acme_crm.py::test_a_signed_delivery_is_parsed PASSED" in ran.stdout
