"""bench.inproc, the harness for comparing small changes' CPU, runs and checks its own deliveries."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_inproc_bench_relays_every_event_and_reports_its_cpu(tmp_path: Path) -> None:
    profile = tmp_path / "relay.pstat"
    done = subprocess.run(
        [sys.executable, "-m", "bench.inproc", "--events", "20", "--warmup", "3", "--profile", str(profile)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"process CPU \d+ µs/event, .* \d+ Python calls/event", done.stdout), done.stdout
    assert profile.stat().st_size > 0
