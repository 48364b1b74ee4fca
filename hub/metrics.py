"""Prometheus metrics: runs by status, step latency, webhook and poll counters, and per-recipe run
counts and durations.

Per-recipe series are labelled by recipe id for the first `max_recipes` recipes that finish a run in
this process (HUB_METRICS_MAX_RECIPES); later ones share the label `other`, so a hub with 10,000
recipes cannot make a scrape carry millions of series.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class _RunsByStatus(Collector):
    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily("hub_runs", "Runs in the database by status", labels=["status"])
        for status, count in sorted(self._counts().items()):
            family.add_metric([status], count)
        yield family


OTHER = "other"
RUN_SECONDS_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 86400, 7 * 86400)


class Metrics:
    def __init__(self, max_recipes: int = 100) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.max_recipes = max_recipes
        self._labelled: set[int] = set()
        self._labelling = threading.Lock()
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
        self.recipe_runs.labels(label, status).inc()
        if seconds is not None:
            self.recipe_run_seconds.labels(label).observe(max(seconds, 0.0))

    def watch_runs(self, counts: Callable[[], dict[str, int]]) -> None:
        """Report runs by status from the database at scrape time."""
        if self._runs_collector is None:
            self._runs_collector = _RunsByStatus(counts)
            self.registry.register(self._runs_collector)

    def render(self) -> bytes:
        return generate_latest(self.registry)
