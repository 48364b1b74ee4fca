"""Statistics and retention at volume, on SQLite: seed runs straight into the database, time the recipe
stats query, then measure webhook acknowledgements (`hub web`, one every 20 ms) idle and while
`hub prune` rolls every closed day up and deletes the older half, and time the query again.

    .venv/bin/python -m bench.stats                  # 1,000,000 runs (several minutes to seed)
    .venv/bin/python -m bench.stats --runs 100000    # a smaller pass

Targets: the stats query of a recipe under 200 ms; webhook ack p99 while pruning within 2x of idle.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet
from sqlalchemy import insert, select

from bench.procs import free_port, wait_http
from hub.config import Settings
from hub.db.models import Event, Run, StepRun, utcnow
from hub.recipe_store import hook_urls, save_recipe
from hub.retention import Pace, prune
from hub.runtime import Runtime
from hub.stats import Period, recipe_stats

CHUNK = 5_000
DAYS = 60  # runs spread over this many days; with 30-day retention the older half is prunable


def recipe_document(name: str) -> dict[str, Any]:
    step = {
        "connector": "http",
        "action": "request",
        "input": {"method": "POST", "url": "http://127.0.0.1:9/"},
    }
    return {
        "name": name,
        "enabled": True,
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [{"id": "first", **step}, {"id": "second", **step}],
    }


def seed(rt: Runtime, recipes: int, runs: int) -> tuple[list[int], str]:
    """`runs` finished runs with two step rows each, spread over the recipes and DAYS days; the
    first recipe's webhook path."""
    with rt.db.transaction() as session:
        saved = [save_recipe(session, rt, recipe_document(f"bench {i}")) for i in range(recipes)]
        ids = [r.id for r in saved]
        path = hook_urls(session, rt, saved[0])["webhook_url"].removeprefix(rt.settings.base_url)
    now = utcnow()
    span = DAYS * 86_400
    for start in range(0, runs, CHUNK):
        count = min(CHUNK, runs - start)
        with rt.db.transaction() as session:
            first_id = (session.scalar(select(Run.id).order_by(Run.id.desc()).limit(1)) or 0) + 1
            events, rows, steps = [], [], []
            for offset in range(count):
                n = start + offset
                created = now - timedelta(seconds=(n * 7919) % span + 3600)
                failed = n % 10 == 0
                took = timedelta(milliseconds=50 + (n * 31) % 5000)
                events.append(
                    {
                        "recipe_id": ids[n % recipes],
                        "source": "bench",
                        "payload": {"n": n},
                        "received_at": created,
                    }
                )
                rows.append(
                    {
                        "id": first_id + offset,
                        "recipe_id": ids[n % recipes],
                        "recipe_version": 1,
                        "event_id": None,
                        "status": "failed" if failed else "succeeded",
                        "created_at": created,
                        "started_at": created,
                        "finished_at": created + took,
                    }
                )
                for position, step_id in enumerate(("first", "second")):
                    status = "failed" if failed and position == 1 else "succeeded"
                    steps.append(
                        {
                            "run_id": first_id + offset,
                            "step_id": step_id,
                            "position": position,
                            "status": status,
                            "attempts": 1,
                            "started_at": created,
                            "finished_at": created + took / 2,
                        }
                    )
            event_ids = session.scalars(insert(Event).returning(Event.id), events).all()
            for row, event_id in zip(rows, event_ids, strict=True):
                row["event_id"] = event_id
            session.execute(insert(Run), rows)
            session.execute(insert(StepRun), steps)
        print(f"\r  seeded {start + count:,} runs", end="", flush=True)
    print()
    return ids, path


def time_query(rt: Runtime, recipe_id: int, period: Period, repeat: int = 5) -> float:
    """Median milliseconds of the recipe stats query."""
    took = []
    for _ in range(repeat):
        began = time.perf_counter()
        with rt.db.read() as session:
            recipe_stats(session, recipe_id, period)
        took.append((time.perf_counter() - began) * 1000)
    return round(statistics.median(took), 1)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1) if ordered else 0.0


def send_webhooks(url: str, stop: threading.Event, latencies: list[float], failures: list[int]) -> None:
    """One webhook every 20 ms until `stop`, each answer's latency in ms."""
    with requests.Session() as http:
        n = 0
        while not stop.is_set():
            n += 1
            began = time.perf_counter()
            answer = http.post(url, json={"n": n, "at": time.time()}, timeout=30)
            latencies.append((time.perf_counter() - began) * 1000)
            if answer.status_code >= 300:
                failures.append(answer.status_code)
            time.sleep(0.02)


def acks(
    url: str, seconds: float | None = None, during: subprocess.Popen[bytes] | None = None
) -> dict[str, Any]:
    """Ack latency for `seconds`, or for as long as `during` runs."""
    stop = threading.Event()
    latencies: list[float] = []
    failures: list[int] = []
    sender = threading.Thread(target=send_webhooks, args=(url, stop, latencies, failures))
    began = time.monotonic()
    sender.start()
    if during is not None:
        during.wait()
    else:
        time.sleep(seconds or 0)
    stop.set()
    sender.join()
    return {
        "seconds": round(time.monotonic() - began, 1),
        "sent": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else 0.0,
        "p99_ms": p99(latencies),
        "failures": len(failures),
    }


def measure(
    workdir: Path,
    runs: int,
    recipes: int,
    idle_s: float = 15.0,
    *,
    roll_up_first: bool = False,
    acks_too: bool = True,
) -> dict[str, Any]:
    """Seed, time the stats query, and measure webhook acks idle and while pruning. `roll_up_first`
    rolls the closed days up at full speed (no rests, nothing deleted) and times the query again: the
    figure at a size whose paced first pass would take an hour."""
    home = workdir / "stats-home"
    env = {
        **os.environ,
        "HUB_HOME": str(home),
        "HUB_DATABASE_URL": f"sqlite:///{home / 'hub.db'}",
        "HUB_VAULT_KEYS": Fernet.generate_key().decode(),
    }
    settings = Settings.from_env(env)
    rt = Runtime.create(settings)
    began = time.monotonic()
    ids, path = seed(rt, recipes, runs)
    result: dict[str, Any] = {"runs": runs, "recipes": recipes, "seed_s": round(time.monotonic() - began, 1)}
    week = Period(since=utcnow() - timedelta(days=7))
    result["before_roll_up"] = {
        "stats_ms_all_time": time_query(rt, ids[0], Period()),
        "stats_ms_last_7_days": time_query(rt, ids[0], week),
    }
    result["runs_per_recipe"] = runs // recipes
    if roll_up_first:
        rolled = Runtime.create(replace(settings, retention_days=0))
        began = time.monotonic()
        prune(rolled, pace=Pace(pause_s=0.0, write_s=0.5, duty=1.0))
        result["roll_up_s"] = round(time.monotonic() - began, 1)
        result["after_roll_up"] = {
            "stats_ms_all_time": time_query(rolled, ids[0], Period()),
            "stats_ms_last_7_days": time_query(rolled, ids[0], week),
        }
        rolled.close()
    rt.close()
    if not acks_too:
        return result
    port = free_port()
    # `hub web`: the webhook ingress alone, so no scheduler of its own prunes during the measurement
    serve_env = {**env, "HUB_BASE_URL": f"http://127.0.0.1:{port}"}
    hub = subprocess.Popen(
        [sys.executable, "-m", "hub", "web", "--port", str(port)],
        env=serve_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout_s=120)
        url = f"http://127.0.0.1:{port}{path}"
        acks(url, 3)  # warm-up
        result["idle"] = acks(url, idle_s)
        pruning = subprocess.Popen(
            [sys.executable, "-m", "hub", "prune"],
            env={**env, "HUB_RETENTION_DAYS": "30"},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        result["pruning"] = acks(url, during=pruning)
        result["pruned"] = (pruning.stdout.read().decode() if pruning.stdout else "").strip().splitlines()
    finally:
        hub.terminate()
        hub.wait(30)
    rt = Runtime.create(settings)
    result["after_prune"] = {
        "stats_ms_all_time": time_query(rt, ids[0], Period()),
        "stats_ms_last_7_days": time_query(rt, ids[0], week),
    }
    rt.close()
    idle, busy = result["idle"]["p99_ms"], result["pruning"]["p99_ms"]
    result["p99_ratio"] = round(busy / idle, 2) if idle else None
    return result


def report(result: dict[str, Any]) -> None:
    print(
        f"\n{result['runs']:,} runs over {result['recipes']} recipes ({result['runs_per_recipe']:,} each), "
        f"seeded in {result['seed_s']} s"
    )
    if "after_roll_up" in result:
        print(f"rolled up at full speed in {result['roll_up_s']} s")
    for moment in ("before_roll_up", "after_roll_up", "after_prune"):
        if moment not in result:
            continue
        f = result[moment]
        print(
            f"recipe stats query {moment.replace('_', ' ')}: all time {f['stats_ms_all_time']} ms, "
            f"last 7 days {f['stats_ms_last_7_days']} ms"
        )
    if "idle" not in result:
        return
    for phase in ("idle", "pruning"):
        f = result[phase]
        print(
            f"webhook acks {phase}: {f['sent']} in {f['seconds']} s, p50 {f['p50_ms']} ms, "
            f"p99 {f['p99_ms']} ms, failures {f['failures']}"
        )
    print(f"p99 while pruning / idle: {result['p99_ratio']}x")
    print("\n".join(result["pruned"]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--recipes", type=int, default=1, help="the runs are spread over this many recipes")
    parser.add_argument("--idle", type=float, default=15.0, help="seconds of idle ack measurement")
    parser.add_argument(
        "--roll-up-first", action="store_true", help="roll up at full speed and time the query again"
    )
    parser.add_argument("--no-acks", action="store_true", help="skip the webhook acks and the paced prune")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-stats-"))
    try:
        result = measure(
            workdir,
            args.runs,
            args.recipes,
            args.idle,
            roll_up_first=args.roll_up_first,
            acks_too=not args.no_acks,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
