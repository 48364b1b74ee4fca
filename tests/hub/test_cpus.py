"""Which CPUs `hub serve` uses and when it holds each process to one (hub/cpus.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hub import cpus, server


@pytest.fixture
def machine(monkeypatch: Any, tmp_path: Path) -> Any:
    """A machine of `n` CPUs with an optional cgroup quota (v2 `cpu.max` or v1 CFS files)."""

    def make(n: int, cpu_max: str | None = None, cfs: tuple[int, int] | None = None) -> None:
        monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(n)))
        monkeypatch.setattr(cpus, "CGROUP", tmp_path)
        monkeypatch.setattr(cpus, "OWN_CGROUP", tmp_path / "no-such-file")  # read as the root cgroup
        (tmp_path / "cpu.max").unlink(missing_ok=True)
        shutil.rmtree(tmp_path / "cpu", ignore_errors=True)
        if cpu_max is not None:
            (tmp_path / "cpu.max").write_text(cpu_max)
        if cfs is not None:
            (tmp_path / "cpu").mkdir()
            (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text(str(cfs[0]))
            (tmp_path / "cpu" / "cpu.cfs_period_us").write_text(str(cfs[1]))

    return make


def test_the_quota_is_read_from_cgroup_v2_or_v1(machine: Any, tmp_path: Path) -> None:
    machine(8)
    assert cpus.cpu_quota() is None  # no cgroup files: unlimited
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cpus.cpu_quota() is None
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cpus.cpu_quota() == 1.5
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert cpus.cpu_quota() is None
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("300000")
    assert cpus.cpu_quota() == 3.0


def test_serve_forks_one_process_per_cpu_of_its_quota(machine: Any) -> None:
    machine(16, cpu_max="150000 100000")  # a container given 1.5 CPUs of a 16-core host
    assert cpus.usable_cpu_count() == 2 and server.default_processes() == 2
    machine(4, cfs=(800000, 100000))  # a quota above the affinity changes nothing
    assert cpus.usable_cpu_count() == 4


def test_processes_covering_every_cpu_are_pinned_by_default(machine: Any) -> None:
    machine(2)
    pinning = cpus.plan_pinning(2, None)
    assert pinning is not None and pinning.cpus == (0, 1)
    assert cpus.plan_pinning(3, "auto") == pinning  # more processes than CPUs: round robin
    assert cpus.plan_pinning(1, None) is None  # one process on two CPUs: left to float
    assert cpus.plan_pinning(2, "0") is None and cpus.plan_pinning(2, "off") is None


def test_a_quota_below_the_cpus_or_a_single_cpu_is_never_pinned_unless_asked(machine: Any) -> None:
    machine(16, cpu_max="200000 100000")  # every hub on this host would pin to CPUs 0 and 1
    assert cpus.plan_pinning(16, None) is None
    forced = cpus.plan_pinning(2, "true")
    assert forced is not None and forced.cpus == tuple(range(16))
    machine(1)
    assert cpus.plan_pinning(1, None) is None


def test_a_bad_setting_is_named(machine: Any) -> None:
    machine(2)
    with pytest.raises(ValueError, match="HUB_PIN_CPUS must be auto, 1 or 0"):
        cpus.plan_pinning(2, "sometimes")


def test_serve_names_a_bad_pin_setting(monkeypatch: Any) -> None:
    from click.testing import CliRunner

    from hub.cli import main

    monkeypatch.setenv("HUB_PIN_CPUS", "sometimes")
    answer = CliRunner().invoke(main, ["serve", "--port", "0", "--processes", "1"])
    assert answer.exit_code != 0 and "HUB_PIN_CPUS must be auto, 1 or 0" in answer.output


def test_hold_pins_the_process_and_the_threads_it_starts_after() -> None:
    """In a fresh interpreter: after hold(), a new thread runs on the held CPU only."""
    last = sorted(os.sched_getaffinity(0))[-1]
    code = (
        "import os, threading\n"
        "from hub.cpus import CpuPinning, allowed_cpus\n"
        "cpu = CpuPinning(tuple(allowed_cpus())).hold(len(allowed_cpus()) - 1)\n"
        "seen = []\n"
        "t = threading.Thread(target=lambda: seen.append(os.sched_getaffinity(0))); t.start(); t.join()\n"
        "print(cpu, sorted(os.sched_getaffinity(0)), sorted(seen[0]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[0] == f"{last} [{last}] [{last}]"


def test_a_services_own_quota_and_its_slices_are_read(machine: Any, tmp_path: Path, monkeypatch: Any) -> None:
    """Under systemd the quota sits in the service's cgroup (named in /proc/self/cgroup), or above."""
    machine(16)
    service = tmp_path / "system.slice" / "hub.service"
    service.mkdir(parents=True)
    (service / "cpu.max").write_text("300000 100000\n")
    (tmp_path / "system.slice" / "cpu.max").write_text("max 100000\n")
    own = tmp_path / "proc-self-cgroup"
    own.write_text("0::/system.slice/hub.service\n")
    monkeypatch.setattr(cpus, "OWN_CGROUP", own)
    assert cpus.cpu_quota() == 3.0 and server.default_processes() == 3
    (tmp_path / "system.slice" / "cpu.max").write_text("150000 100000\n")  # the slice allows less
    assert cpus.cpu_quota() == 1.5
    own.write_text("0::/\n")  # a container: its cgroup is the root it sees
    assert cpus.cpu_quota() is None
