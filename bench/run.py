"""One command for the whole benchmark: relay, ceiling, polling, recipe scale, the utilities'
per-call cost, lookup tables, flow control, and statistics and retention at volume, on 127.0.0.1.

    .venv/bin/python -m bench.run            # everything, about 8 minutes
    .venv/bin/python -m bench.run --quick    # shorter phases, for a smoke check

Prints a table and writes the figures as JSON under bench/results/ so runs can be compared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet

from bench import lookup, utilities
from bench import stats as stats_bench
from bench.flow import FlowFigure, flow_phase
from bench.lookup import LookupFigure
from bench.procs import ProcessTree, free_port, wait_http
from bench.utilities import UtilityFigure
from bench.workload import EVENT, polling_recipe, relay_recipe

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "relay.lua"


@dataclass
class RelayFigure:
    label: str
    connections: int
    recipes: int
    accepted_per_s: float
    ack_p50_ms: float
    ack_p99_ms: float
    accepted: int
    delivered: int
    lost: int
    errors: int
    peak_rss_mib: float
    peak_pss_mib: float  # shared pages of forked processes counted once (bench/procs.py)
    drain_s: float
    delivered_per_s: float  # delivered / (burst + drain): what the hub sustains end to end
    cpu_ms_per_event: float  # CPU of every process of the server, burst and drain, per delivery


@dataclass
class PollingFigure:
    recipes: int
    interval_s: int
    idle_cpu_s_per_min: float
    busy_items_per_s: float
    busy_cpu_s_per_min: float


@dataclass
class Results:
    started_at: str
    machine: dict[str, Any]
    hub: dict[str, Any]
    relay: list[RelayFigure] = field(default_factory=list)
    ceiling: RelayFigure | None = None
    polling: PollingFigure | None = None
    utilities: UtilityFigure | None = None
    lookup: LookupFigure | None = None
    flow: list[FlowFigure] = field(default_factory=list)
    stats: dict[str, Any] | None = None


class Sink:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([sys.executable, "-m", "bench.sink", str(self.port)], cwd=ROOT)
        wait_http(f"{self.url}/stats")

    def stats(self) -> dict[str, int]:
        return requests.get(f"{self.url}/stats", timeout=5).json()

    def reset(self) -> None:
        requests.post(f"{self.url}/reset", timeout=5)

    def fresh_items(self, per_poll: int) -> None:
        requests.post(f"{self.url}/mode", json={"fresh": per_poll}, timeout=5)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class Hub:
    """A hub home prepared with recipes, then `hub serve` on it."""

    def __init__(self, home: Path, args: argparse.Namespace) -> None:
        self.home = home
        self.options = self.flags(args)
        database_url = args.database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "HUB_HOME": str(home),
            "HUB_VAULT_KEYS": Fernet.generate_key().decode(),
            "HUB_ALLOW_PRIVATE_NETWORK": "1",
            "HUB_BASE_URL": self.url,
        }
        for name in ("HUB_WORKERS", "HUB_PROCESSES"):
            self.env.pop(name, None)
        if args.workers:
            self.env["HUB_WORKERS"] = str(args.workers)
        if database_url:
            self.env["HUB_DATABASE_URL"] = database_url
        self.tree: ProcessTree | None = None

    @staticmethod
    def flags(args: argparse.Namespace) -> list[str]:
        """Only what is asked for is passed: by default `hub serve` starts exactly as the README says."""
        return [
            *(["--processes", str(args.processes)] if args.processes else []),
            *(["--threads", str(args.threads)] if args.threads else []),
        ]

    def add_recipes(self, documents: list[dict[str, Any]]) -> list[str]:
        """Save recipes in-process (fast for 10,000); returns the webhook URL of each."""
        from hub.config import Settings
        from hub.recipe_store import hook_urls, save_recipe
        from hub.runtime import Runtime

        rt = Runtime.create(Settings.from_env(self.env))
        urls: list[str] = []
        try:
            for start in range(0, len(documents), 500):
                with rt.db.transaction() as session:
                    for document in documents[start : start + 500]:
                        recipe = save_recipe(session, rt, document, actor="bench")
                        urls.append(hook_urls(session, rt, recipe).get("webhook_url", ""))
        finally:
            rt.close()
        return urls

    def start(self) -> None:
        log = (self.home / "hub.log").open("ab")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hub",
                "serve",
                "--port",
                str(self.port),
                *self.options,
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        self.tree = ProcessTree(process)
        wait_http(f"{self.url}/healthz", timeout_s=90)

    def stop(self) -> None:
        if self.tree:
            self.tree.stop()


def run_wrk(url: str, connections: int, duration_s: int, tree: ProcessTree) -> dict[str, Any]:
    env = {**os.environ, "BENCH_EVENT": json.dumps(EVENT)}
    command = [
        "wrk",
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{duration_s}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    peak = (0, 0)
    while process.poll() is None:
        peak = _peaks(peak, tree.memory())
        time.sleep(0.2)
    output = process.stdout.read() if process.stdout else ""
    line = next((row for row in output.splitlines() if row.startswith("BENCH_RESULT")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    total, status_errors, socket_errors, p50_us, p99_us, duration_us = (int(v) for v in line.split()[1:])
    return {
        "accepted": total - status_errors,
        "errors": status_errors + socket_errors,
        "p50_ms": p50_us / 1000,
        "p99_ms": p99_us / 1000,
        "duration_s": duration_us / 1e6,
        "peak_memory": peak,
    }


def _peaks(peak: tuple[int, int], now: tuple[int, int]) -> tuple[int, int]:
    return max(peak[0], now[0]), max(peak[1], now[1])


def drain(
    sink: Sink, expected: int, tree: ProcessTree | None, limit_s: float = 180
) -> tuple[int, float, tuple[int, int]]:
    """Wait until the sink has `expected` deliveries or stops making progress;
    (delivered, s, peak (RSS, PSS))."""
    started = time.monotonic()
    last, last_change, peak = -1, started, (0, 0)
    while time.monotonic() - started < limit_s:
        if tree:
            peak = _peaks(peak, tree.memory())
        delivered = sink.stats()["unique_keys"]
        if delivered >= expected:
            return delivered, time.monotonic() - started, peak
        if delivered != last:
            last, last_change = delivered, time.monotonic()
        elif time.monotonic() - last_change > 15:
            break
        time.sleep(0.25)
    return max(last, 0), time.monotonic() - started, peak


def relay_phase(
    label: str,
    url: str,
    hub: Hub | None,
    tree: ProcessTree,
    sink: Sink,
    connections: int,
    duration_s: int,
    recipes: int,
) -> RelayFigure:
    sink.reset()
    cpu_before = tree.cpu_seconds()
    result = run_wrk(url, connections, duration_s, tree)
    delivered, drain_s, peak = drain(sink, result["accepted"], tree if hub else None)
    cpu_s = tree.cpu_seconds() - cpu_before
    figure = RelayFigure(
        label=label,
        connections=connections,
        recipes=recipes,
        accepted_per_s=round(result["accepted"] / result["duration_s"], 1),
        ack_p50_ms=result["p50_ms"],
        ack_p99_ms=result["p99_ms"],
        accepted=result["accepted"],
        delivered=delivered,
        lost=max(0, result["accepted"] - delivered),
        errors=result["errors"],
        peak_rss_mib=round(max(result["peak_memory"][0], peak[0]) / 2**20, 1),
        peak_pss_mib=round(max(result["peak_memory"][1], peak[1]) / 2**20, 1),
        drain_s=round(drain_s, 1),
        delivered_per_s=round(delivered / (result["duration_s"] + drain_s), 1),
        cpu_ms_per_event=round(cpu_s * 1000 / max(delivered, 1), 2),
    )
    print(
        f"  {label:<10} c={connections:<3} recipes={recipes:<6} {figure.accepted_per_s:>8} ev/s "
        f"p50 {figure.ack_p50_ms:.1f} ms p99 {figure.ack_p99_ms:.1f} ms delivered {delivered}/"
        f"{figure.accepted} drained {figure.drain_s} s, {figure.delivered_per_s}/s sustained, "
        f"{figure.cpu_ms_per_event} ms CPU/event, "
        f"rss {figure.peak_rss_mib} MiB, pss {figure.peak_pss_mib} MiB",
        flush=True,
    )
    return figure


def hub_relay(
    workdir: Path, sink: Sink, args: argparse.Namespace, recipes: int, connections: list[int]
) -> list[RelayFigure]:
    hub = Hub(workdir / f"relay-{recipes}", args)
    hub.home.mkdir(parents=True)
    documents = [relay_recipe(f"relay {i}", sink.url) for i in range(recipes)]
    urls = hub.add_recipes(documents)
    hub.start()
    try:
        assert hub.tree is not None
        # a short warm-up so imports, caches and connection pools are filled before measuring
        run_wrk(urls[-1], 4, 2, hub.tree)
        drain(sink, sink.stats()["unique_keys"], None, limit_s=30)
        return [
            relay_phase("hub", urls[-1], hub, hub.tree, sink, c, args.duration, recipes) for c in connections
        ]
    finally:
        hub.stop()


def ceiling_relay(sink: Sink, args: argparse.Namespace) -> RelayFigure:
    port = free_port()
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    process = subprocess.Popen(
        [
            gunicorn,
            "-w",
            "2",
            "-k",
            "gthread",
            "--threads",
            "8",
            "--keep-alive",
            "0",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "bench.ceiling:app",
        ],
        env={**os.environ, "SINK_URL": sink.url},
        cwd=ROOT,
    )
    tree = ProcessTree(process)
    try:
        url = f"http://127.0.0.1:{port}/hooks/relay"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.post(url, json=EVENT, timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.2)
        return relay_phase("ceiling", url, None, tree, sink, 8, args.duration, 0)
    finally:
        tree.stop()


def polling(workdir: Path, sink: Sink, args: argparse.Namespace) -> PollingFigure:
    hub = Hub(workdir / "polling", args)
    hub.home.mkdir(parents=True)
    sink.reset()
    hub.add_recipes([polling_recipe(f"poll {i}", sink.url, 60) for i in range(args.poll_recipes)])
    hub.start()
    try:
        assert hub.tree is not None
        time.sleep(args.poll_warmup)  # first polls of every recipe, spread by the scheduler
        cpu_before = hub.tree.cpu_seconds()
        time.sleep(args.poll_window)
        idle = (hub.tree.cpu_seconds() - cpu_before) * 60 / args.poll_window
        sink.fresh_items(args.poll_fresh)
        served_before, cpu_before = sink.stats()["items_served"], hub.tree.cpu_seconds()
        time.sleep(args.poll_window)
        served = sink.stats()["items_served"] - served_before
        busy_cpu = (hub.tree.cpu_seconds() - cpu_before) * 60 / args.poll_window
        sink.fresh_items(0)
        figure = PollingFigure(
            recipes=args.poll_recipes,
            interval_s=60,
            idle_cpu_s_per_min=round(idle, 2),
            busy_items_per_s=round(served / args.poll_window, 1),
            busy_cpu_s_per_min=round(busy_cpu, 2),
        )
        print(f"  polling    {figure}", flush=True)
        return figure
    finally:
        hub.stop()


def print_table(results: Results) -> None:
    h = results.hub
    print(f"\nhub serve {h['options'] or '(defaults, as the README starts it)'}")
    print(
        "\n| run | conns | recipes | accepted/s | ack p50 ms | ack p99 ms | delivered | lost | drained in s "
        "| delivered/s sustained | CPU ms/event | peak RSS MiB | peak PSS MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for f in [*results.relay, *([results.ceiling] if results.ceiling else [])]:
        print(
            f"| {f.label} | {f.connections} | {f.recipes} | {f.accepted_per_s} | {f.ack_p50_ms:.1f} | "
            f"{f.ack_p99_ms:.1f} | {f.delivered}/{f.accepted} | {f.lost} | {f.drain_s} | "
            f"{f.delivered_per_s} | {f.cpu_ms_per_event} | {f.peak_rss_mib} | {f.peak_pss_mib} |"
        )
    if results.ceiling:
        hub8 = next(
            (
                f
                for f in results.relay
                if f.connections == 8 and f.recipes == min(r.recipes for r in results.relay)
            ),
            None,
        )
        if hub8 and results.ceiling.delivered_per_s:
            ratio = hub8.delivered_per_s / results.ceiling.delivered_per_s
            print(f"\nhub / ceiling at 8 connections, delivered per second sustained: {ratio:.2f}")
    scale = [f for f in results.relay if f.connections == 8]
    if len({f.recipes for f in scale}) > 1:
        base = min(scale, key=lambda f: f.recipes)
        for f in scale:
            ratio = f.accepted_per_s / base.accepted_per_s
            print(f"recipes {f.recipes}: {f.accepted_per_s} ev/s ({ratio:.2f}x)")
    if results.polling:
        p = results.polling
        print(
            f"\npolling {p.recipes} recipes every {p.interval_s}s: idle {p.idle_cpu_s_per_min} CPU s/min; "
            f"busy {p.busy_items_per_s} items/s at {p.busy_cpu_s_per_min} CPU s/min"
        )
    if results.utilities:
        print(f"\n{utilities.describe(results.utilities)}")
    if results.lookup:
        print(f"\n{lookup.describe(results.lookup)}")
    for f in results.flow:
        print(
            f"\nfor_each of {f.items} http.request items, concurrency {f.concurrency}: "
            f"{f.items_per_s} items/s ({f.run_s} s); "
            f"RSS {f.rss_idle_mib} -> {f.rss_peak_mib} MiB, {f.kib_per_item} KiB per item"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=60, help="seconds of each relay burst")
    parser.add_argument("--connections", default="1,8,32")
    parser.add_argument("--recipes", default="10,1000,10000", help="recipe counts for the scale phase")
    parser.add_argument("--poll-recipes", type=int, default=1000)
    parser.add_argument("--poll-window", type=int, default=60)
    parser.add_argument("--poll-warmup", type=int, default=20)
    parser.add_argument("--poll-fresh", type=int, default=2, help="new items per poll in the busy window")
    parser.add_argument(
        "--skip",
        default="",
        help="comma list of phases to skip: relay,ceiling,polling,scale,utilities,lookup,flow,stats",
    )
    parser.add_argument("--flow-concurrency", default="1,4", help="for_each concurrency of each flow run")
    parser.add_argument("--stats-runs", type=int, default=1_000_000, help="runs seeded for the stats phase")
    # Unset, `hub serve` chooses them from the machine, as when started the README's way.
    parser.add_argument("--processes", type=int, help="`hub serve --processes`")
    parser.add_argument("--threads", type=int, help="`hub serve --threads` per process")
    parser.add_argument("--workers", type=int, help="HUB_WORKERS: runs at once per process")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    parser.add_argument("--quick", action="store_true", help="10 s relay bursts, 20 s poll windows")
    parser.add_argument("--lookup-rows", type=int, default=50_000, help="rows of the lookup table phase")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.poll_window, args.poll_warmup = 10, 20, 10
        args.flow_concurrency = "4"
        args.stats_runs = min(args.stats_runs, 100_000)
    skip = set(filter(None, args.skip.split(",")))
    if not shutil.which("wrk") and not {"relay", "ceiling", "scale"} <= skip:
        sys.exit("wrk is not installed: apt-get install wrk")
    connections = [int(c) for c in args.connections.split(",")]
    recipe_counts = sorted(int(c) for c in args.recipes.split(","))
    results = Results(
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        machine={
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        hub={"options": " ".join(Hub.flags(args)) + (f" HUB_WORKERS={args.workers}" if args.workers else "")},
    )
    sink = Sink()
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    try:
        if "relay" not in skip:
            print("relay", flush=True)
            results.relay += hub_relay(workdir, sink, args, recipe_counts[0], connections)
        if "ceiling" not in skip:
            print("ceiling", flush=True)
            results.ceiling = ceiling_relay(sink, args)
        if "scale" not in skip:
            print("recipes scale", flush=True)
            for count in recipe_counts[1:]:
                results.relay += hub_relay(workdir, sink, args, count, [8])
        if "polling" not in skip:
            print("polling", flush=True)
            results.polling = polling(workdir, sink, args)
        if "utilities" not in skip:
            print("utilities", flush=True)
            results.utilities = utilities.measure(100 if args.quick else 500, database_url=args.database_url)
        if "lookup" not in skip:
            print("lookup tables", flush=True)
            results.lookup = lookup.measure(args.lookup_rows, 200 if args.quick else 2_000, args.database_url)
        if "flow" not in skip:
            print("flow", flush=True)
            results.flow = flow_phase(workdir, sink, args, Hub)
        if "stats" not in skip:
            print("statistics and retention", flush=True)
            results.stats = stats_bench.measure(workdir, args.stats_runs, 1)
    finally:
        sink.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(results)
    if results.stats:
        stats_bench.report(results.stats)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{results.started_at.replace(':', '')}.json"
    path.write_text(json.dumps(asdict(results), indent=2))
    print(f"\nresults written to {path}")


if __name__ == "__main__":
    main()
