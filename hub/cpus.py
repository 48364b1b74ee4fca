"""The CPUs `hub serve` may use, and holding each of its processes to one of them.

A hub process is many threads taking turns on one GIL. Left to float, those threads run on every
core, so each hand-over of the GIL wakes a thread on another core and moves the GIL's cache lines
with it: on a 2-core machine the relay benchmark delivered 0.5-0.6 times as many events, at
1.25-1.7 times the CPU per event, as with each process held to a core of its own. The processes of
one `hub serve` then share the machine's cores between them, one each, the way the kernel would
spread them anyway.

Holding is only safe when those cores are the hub's: a container limited by a CPU quota (not a
cpuset) still sees every core of its host, and every hub on that host would hold itself to the same
first few. So by default a process is held only when the hub's processes cover every core it may
run on and no quota is smaller than that (`HUB_PIN_CPUS` forces it on or off).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

from hub.config import TRUE_WORDS

log = logging.getLogger("hub.server")

CGROUP = Path("/sys/fs/cgroup")  # seams for tests
OWN_CGROUP = Path("/proc/self/cgroup")
FALSE_WORDS = ("0", "false", "no", "off")


def allowed_cpus() -> list[int]:
    """The CPUs this process may run on (its affinity), or [0..cpu_count) where that is unknown."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def _v2_quota(directory: Path) -> float | None:
    try:
        quota, period = (directory / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError, ZeroDivisionError):
        return None


def _own_v2_cgroups() -> list[Path]:
    """This process's cgroup v2 directory and each one above it: a container sees its own as the
    root; a systemd service (`CPUQuota=`) or its slice sits deeper."""
    try:
        lines = OWN_CGROUP.read_text().splitlines()
    except OSError:
        lines = []
    own = next((line[3:] for line in lines if line.startswith("0::")), "/")
    path = CGROUP / own.strip("/")
    chain = [path]
    while path != CGROUP and CGROUP in path.parents:
        path = path.parent
        chain.append(path)
    return chain


def cpu_quota() -> float | None:
    """How many CPUs' worth of time the cgroups allow (v2 `cpu.max` here or above, else the v1 CFS
    quota); None if unlimited."""
    quotas = [q for q in map(_v2_quota, _own_v2_cgroups()) if q is not None]
    if quotas:
        return min(quotas)
    try:
        quota_us = int((CGROUP / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((CGROUP / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us


def usable_cpu_count() -> int:
    """The CPUs the hub can keep busy: its affinity, fewer under a smaller quota (rounded up)."""
    cpus = len(allowed_cpus())
    quota = cpu_quota()
    return max(1, min(cpus, math.ceil(quota))) if quota is not None else max(1, cpus)


@dataclass(frozen=True)
class CpuPinning:
    """Which CPU each process of a `hub serve` is held to: the index-th of `cpus`, round robin."""

    cpus: tuple[int, ...]

    def hold(self, index: int) -> int:
        """Hold the calling process, and every thread it starts from now on, to its CPU."""
        cpu = self.cpus[index % len(self.cpus)]
        os.sched_setaffinity(0, {cpu})
        log.info("event=process_pinned process=%s cpu=%s", index, cpu)
        return cpu


def plan_pinning(processes: int, setting: str | None) -> CpuPinning | None:
    """The pinning for `processes` processes under `HUB_PIN_CPUS` (`setting`), or None to let them float.

    Unset (or `auto`): pinned when the processes cover every CPU the hub may run on and no quota is
    smaller than those CPUs. `1`/`true`: always (where affinity can be set). `0`/`false`: never."""
    choice = (setting or "auto").strip().lower()
    if choice not in (*TRUE_WORDS, *FALSE_WORDS, "auto"):
        raise ValueError(f"HUB_PIN_CPUS must be auto, 1 or 0 (got {setting!r})")
    if choice in FALSE_WORDS or not hasattr(os, "sched_setaffinity"):
        return None
    cpus = allowed_cpus()
    if choice == "auto":
        quota = cpu_quota()
        if len(cpus) < 2 or processes < len(cpus) or (quota is not None and quota < len(cpus)):
            return None
    return CpuPinning(tuple(cpus))
