"""Run throughput of Celery `hub worker` processes: 1, 2 and 4 workers on the same backlog.

    HUB_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
    HUB_TEST_BROKER_URL=redis://127.0.0.1:6379/14 \\
    .venv/bin/python -m bench.scale_workers [--runs 1000] [--latency-ms 50] [--threads 4] [--workers 1,2,4]

Each round gets a fresh PostgreSQL schema and queue, stores `--runs` webhook events with their queued
runs (one HTTP step each, to a local sink answering after `--latency-ms`, standing in for a vendor),
starts N workers with `--threads` threads each, sends every run id to the broker and times until the
last run has succeeded. Webhook ingress is measured by bench.run; this isolates execution.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from hub.config import Settings
from hub.db.models import Run
from hub.engine.executor import CeleryExecutor
from hub.engine.intake import store_events
from hub.recipe_store import save_recipe
from hub.runtime import Runtime
from hub.sdk.types import TriggerEvent
from tests.conftest import own_schema
from tests.scale.cluster import Cluster, relay_step
from tests.scale.conftest import drop_queue
from tests.scale.sinks import TimingSink

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Round:
    workers: int
    threads_per_worker: int
    runs: int
    seconds: float
    runs_per_s: float
    speedup: float = 1.0
    vendor_calls: int = 0


def one_round(database_url: str, broker_url: str, workers: int, args: argparse.Namespace) -> Round:
    with own_schema(database_url, prefix="bench") as url:
        return _round_on(url, broker_url, workers, args)


def _round_on(url: str, broker_url: str, workers: int, args: argparse.Namespace) -> Round:
    queue = f"hub.bench.{uuid.uuid4().hex[:8]}"
    sink = TimingSink(delay_s=args.latency_ms / 1000)
    home = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    cluster = Cluster(home, url, broker_url, queue, {"HUB_WORKERS": str(args.threads)})
    try:
        cluster.cli("init")
        rt = Runtime.create(Settings.from_env(cluster.env))
        rt.executor = CeleryExecutor(rt)
        document = {
            "name": "bench relay",
            "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
            "steps": [
                relay_step(sink.url, "/deals", {"deal": "{{ event.n }}", "amount": "{{ event.amount }}"})
            ],
        }
        with rt.db.transaction() as session:
            recipe = save_recipe(session, rt, document, actor="bench")
            stored = store_events(
                session,
                recipe_id=recipe.id,
                recipe_version=recipe.current_version,
                source="webhook",
                events=[TriggerEvent(id=f"b-{n}", data={"n": n, "amount": n * 3}) for n in range(args.runs)],
            )
        run_ids = [s.run_id for s in stored if s.run_id]
        for proc in [cluster.start("worker") for _ in range(workers)]:
            cluster.wait_worker_ready(proc)
        started = time.monotonic()
        rt.dispatch(run_ids)
        while True:
            with rt.db.transaction() as session:
                left = session.scalar(select(func.count()).where(Run.status != "succeeded"))
            if not left:
                break
            if time.monotonic() - started > args.timeout_s:
                raise RuntimeError(f"{left} runs unfinished after {args.timeout_s} s")
            time.sleep(0.1)
        seconds = time.monotonic() - started
        rt.close()
        return Round(
            workers,
            args.threads,
            args.runs,
            round(seconds, 2),
            round(args.runs / seconds, 1),
            vendor_calls=len(sink.arrivals),
        )
    finally:
        cluster.stop()
        sink.close()
        drop_queue(broker_url, queue)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("HUB_TEST_DATABASE_URL"))
    parser.add_argument("--broker-url", default=os.environ.get("HUB_TEST_BROKER_URL"))
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="how long the sink takes to answer")
    parser.add_argument("--threads", type=int, default=4, help="HUB_WORKERS of each worker process")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts to compare")
    parser.add_argument("--timeout-s", type=float, default=600.0)
    args = parser.parse_args()
    if not args.database_url or not args.broker_url:
        parser.error(
            "needs --database-url/HUB_TEST_DATABASE_URL (PostgreSQL) and --broker-url/HUB_TEST_BROKER_URL"
        )
    rounds: list[Round] = []
    for count in (int(n) for n in args.workers.split(",")):
        result = one_round(args.database_url, args.broker_url, count, args)
        result.speedup = round(result.runs_per_s / rounds[0].runs_per_s, 2) if rounds else 1.0
        rounds.append(result)
        print(
            f"{result.workers} worker(s) x {result.threads_per_worker} threads: {result.runs} runs in "
            f"{result.seconds:.1f} s = {result.runs_per_s:.1f} runs/s (x{result.speedup})",
            flush=True,
        )
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%S%z")
    out = RESULTS / f"scale-workers-{stamp}.json"
    broker = args.broker_url.split("://")[0]
    meta = {"broker": broker, "latency_ms": args.latency_ms, "cpus": os.cpu_count()}
    out.write_text(json.dumps({"meta": meta, "rounds": [asdict(r) for r in rounds]}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
