"""Prometheus metrics: runs by status, step latency, webhook and poll counters."""

from __future__ import annotations

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


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
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

    def watch_runs(self, counts: Callable[[], dict[str, int]]) -> None:
        """Report runs by status from the database at scrape time."""
        if self._runs_collector is None:
            self._runs_collector = _RunsByStatus(counts)
            self.registry.register(self._runs_collector)

    def render(self) -> bytes:
        return generate_latest(self.registry)
