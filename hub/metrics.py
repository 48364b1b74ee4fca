"""Prometheus metrics: runs by status, step latency, webhook and poll counters, and per-recipe run
counts and durations.

Per-recipe series are labelled by recipe id for the first `max_recipes` recipes that finish a run in
this process (HUB_METRICS_MAX_RECIPES); later ones share the label `other`, so a hub with 10,000
recipes cannot make a scrape carry millions of series.

`hub serve` with several processes calls `share_across_processes` before forking: every process then
keeps its values in files of one private directory (prometheus_client's multiprocess mode), and
`/metrics` in any of them answers with counters and histograms summed over all of them, a process
that stopped included (counters must not go down). Runs by status are read from the database at
scrape time, once. What multiprocess mode cannot do does not arise here: no gauge is kept in a
process (so `mark_process_dead` has nothing to remove), no custom collector other than runs by
status, no exemplars; the `_created` series are left out. The recipe cap stays per process: each
process labels the first `max_recipes` recipes it sees, so the sum may carry up to that many labels
per process, and a recipe may be counted under its id by one process and under `other` by another.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # where prometheus_client's file values are written
OWNER_FILE = "owner"  # in a shared directory: the pid and start time of the process that made it
_shared_dir: str | None = None  # set in the process that shares, inherited by the ones it forks


def _process_start(pid: int) -> str | None:
    """When `pid` started (clock ticks since boot, from /proc), None if it is gone or unknown: with
    the pid it names one process for good, where a pid alone is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the command name before it may hold spaces
    return fields[19] if len(fields) > 19 else None


def _remove_stale(parent: str) -> None:
    """Remove the shared directories of hubs that were killed before they could (SIGKILL, power
    loss): each names its maker, and a maker that is gone will not remove it. Only this user's
    directories with an owner file are touched; without /proc nothing is."""
    if _process_start(os.getpid()) is None:
        return
    for path in Path(parent).glob("hub-metrics-*"):
        try:
            if path.stat().st_uid != os.getuid():
                continue
            pid, started = (path / OWNER_FILE).read_text().split()
        except (OSError, ValueError):
            continue
        if _process_start(int(pid)) != started:
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def share_across_processes() -> Iterator[str]:
    """Until the block ends, metrics made in this process and in processes forked from it keep their
    values in files of a new private directory, summed by each one's `/metrics`. Call it before any
    metric exists and before forking; the directory is removed when the block ends in this process
    (not in the forked ones), or by the next hub to start if this one was killed, and never reused:
    a killed hub's files would be counted again.

    prometheus_client chooses where values live when it is imported (from the environment), so the
    choice is also made here, in case it was imported first."""
    global _shared_dir
    owner, before = os.getpid(), (values.ValueClass, os.environ.get(MULTIPROC_ENV), _shared_dir)
    _remove_stale(tempfile.gettempdir())
    path = tempfile.mkdtemp(prefix="hub-metrics-")  # mode 0700, a new name every time
    Path(path, OWNER_FILE).write_text(f"{owner} {_process_start(owner)}\n")  # not *.db: not read as values
    os.environ[MULTIPROC_ENV] = path
    values.ValueClass = values.MultiProcessValue()
    _shared_dir = path
    try:
        yield path
    finally:
        if os.getpid() == owner:
            values.ValueClass, previous_env, _shared_dir = before
            if previous_env is None:
                os.environ.pop(MULTIPROC_ENV, None)
            else:
                os.environ[MULTIPROC_ENV] = previous_env
            shutil.rmtree(path, ignore_errors=True)


class _RunsByStatus(Collector):
    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily("hub_runs", "Runs in the database by status", labels=["status"])
        for status, count in sorted(self._counts().items()):
            family.add_metric([status], count)
        yield family


M = TypeVar("M", bound=MetricWrapperBase)
OTHER = "other"
RUN_SECONDS_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 86400, 7 * 86400)


class Metrics:
    def __init__(self, max_recipes: int = 100) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.max_recipes = max_recipes
        self._labelled: set[int] = set()
        self._labelling = threading.Lock()
        self._children: dict[tuple[Any, ...], Any] = {}  # see child()
        self.recipe_runs = Counter(
            "hub_recipe_runs",
            "Runs that reached a final status (or held), by recipe id ('other' past the cap)",
            ["recipe", "status"],
            registry=self.registry,
        )
        self.recipe_run_seconds = Histogram(
            "hub_recipe_run_duration_seconds",
            "From the event's arrival to the run's final status, by recipe id ('other' past the cap)",
            ["recipe"],
            registry=self.registry,
            buckets=RUN_SECONDS_BUCKETS,
        )
        self.webhooks = Counter(
            "hub_webhooks", "Inbound webhook requests by result", ["result"], registry=self.registry
        )
        self.acks_held = Counter(
            "hub_webhook_acks_held",
            "Webhook answers held while the runs queued ahead were behind (HUB_ACK_AHEAD_S)",
            registry=self.registry,
        )
        self.ack_held_seconds = Counter(
            "hub_webhook_ack_held_seconds", "Seconds webhook answers were held", registry=self.registry
        )
        self.polls = Counter("hub_polls", "Polls by result", ["result"], registry=self.registry)
        self.poll_items = Counter("hub_poll_items", "New items taken by polls", registry=self.registry)
        self.runs_finished = Counter(
            "hub_runs_finished", "Runs that reached a final status", ["status"], registry=self.registry
        )
        self.step_seconds = Histogram(
            "hub_step_duration_seconds",
            "Duration of action attempts",
            ["connector", "action", "outcome"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self._runs_collector: _RunsByStatus | None = None
        self.exposed = self.registry  # what /metrics renders
        if _shared_dir is not None:
            self.exposed = CollectorRegistry()
            MultiProcessCollector(self.exposed, path=_shared_dir)

    def child(self, metric: M, *values: str) -> M:
        """`metric.labels(*values)`, kept: labels() builds a tuple of strings and takes a lock at
        every call, several µs, and a webhook's run calls it five times. Only for label values of a
        bounded set (results, statuses, connector actions, capped recipe labels): nothing is dropped.
        In multiprocess mode a child made before a fork counts in the forked process's own file (its
        values reopen theirs when the pid changes), as it would if labels() had given it there."""
        key = (metric, *values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return found

    def count_webhook(self, result: str) -> None:
        """Count an inbound webhook request by its result."""
        self.child(self.webhooks, result).inc()

    def ack_held(self, seconds: float) -> None:
        """Count a webhook answer held `seconds` for the runs ahead of it."""
        self.acks_held.inc()
        self.ack_held_seconds.inc(seconds)

    def recipe_label(self, recipe_id: int) -> str:
        """The recipe's own label while under the cap (kept once given), else `other`."""
        with self._labelling:
            if recipe_id in self._labelled:
                return str(recipe_id)
            if len(self._labelled) < self.max_recipes:
                self._labelled.add(recipe_id)
                return str(recipe_id)
        return OTHER

    def recipe_run(self, recipe_id: int, status: str, seconds: float | None) -> None:
        """Count a run of the recipe that ended (or was held); `seconds` is its duration when final."""
        label = self.recipe_label(recipe_id)
        self.child(self.recipe_runs, label, status).inc()
        if seconds is not None:
            self.child(self.recipe_run_seconds, label).observe(max(seconds, 0.0))

    def watch_runs(self, counts: Callable[[], dict[str, int]]) -> None:
        """Report runs by status from the database at scrape time."""
        if self._runs_collector is None:
            self._runs_collector = _RunsByStatus(counts)
            self.exposed.register(self._runs_collector)

    def render(self) -> bytes:
        return generate_latest(self.exposed)
