"""The flow phase: one run of a 1,000-item for_each, each item an http.request to the sink.

Measures how fast a run's items go (items/s from the first POST to the sink to the last) and what
they cost in memory (the hub's peak RSS over its idle RSS, per item), at each `--flow-concurrency`.
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

FLOW_ITEMS = 1000


@dataclass
class FlowFigure:
    items: int
    concurrency: int
    items_per_s: float
    run_s: float
    rss_idle_mib: float
    rss_peak_mib: float
    kib_per_item: float


def loop_recipe(sink_url: str, items: int, concurrency: int) -> dict[str, Any]:
    return {
        "name": f"flow bench x{concurrency}",
        "trigger": {"connector": "webhook", "trigger": "catch"},
        "steps": [
            {
                "id": "lines",
                "type": "for_each",
                "items": f"{{{{ range({items}) | list }}}}",
                "concurrency": concurrency,
                "steps": [
                    {
                        "id": "post",
                        "connector": "http",
                        "action": "request",
                        "input": {
                            "method": "POST",
                            "url": f"{sink_url}/flow",
                            "json": {"item": "{{ item }}", "of": "{{ loop.length }}"},
                        },
                    }
                ],
            }
        ],
    }


class PeakRss:
    """Samples a process tree's RSS every 50 ms until stopped."""

    def __init__(self, tree: Any) -> None:
        self.tree, self.peak, self._stop = tree, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.tree.rss_bytes())
            self._stop.wait(0.05)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def flow_phase(workdir: Path, sink: Any, args: argparse.Namespace, hub_class: Any) -> list[FlowFigure]:
    """One hub, one recipe per concurrency, one run each (the same event)."""
    hub = hub_class(workdir / "flow", args)
    hub.home.mkdir(parents=True)
    widths = [int(c) for c in str(args.flow_concurrency).split(",")]
    hooks = hub.add_recipes([loop_recipe(sink.url, FLOW_ITEMS, width) for width in widths])
    hub.start()
    figures: list[FlowFigure] = []
    try:
        assert hub.tree is not None
        for width, hook in zip(widths, hooks, strict=True):
            sink.reset()
            time.sleep(1.0)
            idle = hub.tree.rss_bytes()
            peak = PeakRss(hub.tree)
            started = time.monotonic()
            assert requests.post(hook, json={"go": width}, timeout=10).status_code == 202
            deadline = started + 600
            while sink.stats()["unique_keys"] < FLOW_ITEMS and time.monotonic() < deadline:
                time.sleep(0.05)
            elapsed = time.monotonic() - started
            top = peak.stop()
            done = sink.stats()["unique_keys"]
            figure = FlowFigure(
                items=done,
                concurrency=width,
                items_per_s=round(done / elapsed, 1),
                run_s=round(elapsed, 2),
                rss_idle_mib=round(idle / 2**20, 1),
                rss_peak_mib=round(top / 2**20, 1),
                kib_per_item=round(max(0, top - idle) / 1024 / max(done, 1), 2),
            )
            print(f"  flow       {figure}", flush=True)
            figures.append(figure)
    finally:
        hub.stop()
    return figures
