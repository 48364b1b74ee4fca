"""Per-call cost of the storage and assign utilities, as a recipe step pays it (in-process).

    .venv/bin/python -m bench.utilities                  # SQLite in a temporary folder
    .venv/bin/python -m bench.utilities --calls 200 --database-url postgresql+psycopg://...

Calls the actions the way the engine does (a Context with the Runtime, a recipe id and a fresh
idempotency key per call, so each write also records its output for repeats): `storage.increment`
on one key from one thread (latency) and from `--threads` threads at once (contended throughput,
every call on the same row), then `assign.round_robin` from one thread. The step's own bookkeeping
(attempt rows, run state) is not included: bench.run measures whole runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from hub.config import Settings
from hub.runtime import Runtime
from hub.sdk.context import Context
from tests.conftest import own_schema


@dataclass
class UtilityFigure:
    database: str
    calls: int
    increment_p50_ms: float
    increment_p99_ms: float
    increment_contended_per_s: float
    threads: int
    round_robin_p50_ms: float


def _caller(rt: Runtime, connector_id: str, action_key: str) -> Any:
    connector = rt.registry.get(connector_id)
    assert connector is not None
    action = connector.action(action_key)
    assert action is not None

    def call(inputs: dict[str, Any]) -> dict[str, Any]:
        ctx = Context(connector=connector, hub=rt, recipe_id=1, idempotency_key=f"{uuid.uuid4().hex}:step")
        return action.perform(ctx, inputs)

    return call


def _timed(call: Any, inputs: dict[str, Any], count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        call(inputs)
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


def measure(calls: int = 500, threads: int = 8, database_url: str | None = None) -> UtilityFigure:
    """On SQLite in a temporary folder, or in a schema of its own on `database_url`'s database."""
    with tempfile.TemporaryDirectory(prefix="hub-bench-utilities-") as home, ExitStack() as stack:
        url = f"sqlite:///{Path(home) / 'hub.db'}"
        if database_url:
            url = stack.enter_context(own_schema(database_url, prefix="bench"))
        settings = Settings(home=Path(home), database_url=url, vault_keys=Fernet.generate_key().decode())
        rt = Runtime.create(settings)
        try:
            increment = _caller(rt, "storage", "increment")
            counter = {"key": f"bench:{uuid.uuid4().hex[:8]}"}
            _timed(increment, counter, 20)  # warm-up: connections, statement cache
            latency = _timed(increment, counter, calls)
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(lambda _: increment(counter), range(calls)))
            contended = calls / (time.perf_counter() - started)
            assert increment({**counter, "by": 0})["value"] == calls * 2 + 20
            round_robin = _caller(rt, "assign", "round_robin")
            turns = _timed(round_robin, {"rotation": "bench", "members": ["a", "b", "c"]}, calls)
        finally:
            rt.close()
    return UtilityFigure(
        database=url.split(":", 1)[0].split("+")[0],
        calls=calls,
        increment_p50_ms=round(statistics.median(latency), 3),
        increment_p99_ms=round(latency[int(len(latency) * 0.99) - 1], 3),
        increment_contended_per_s=round(contended, 1),
        threads=threads,
        round_robin_p50_ms=round(statistics.median(turns), 3),
    )


def describe(figure: UtilityFigure) -> str:
    return (
        f"storage.increment on {figure.database}: p50 {figure.increment_p50_ms} ms, "
        f"p99 {figure.increment_p99_ms} ms per call; {figure.increment_contended_per_s}/s from "
        f"{figure.threads} threads on one key; assign.round_robin p50 {figure.round_robin_p50_ms} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    args = parser.parse_args()
    figure = measure(args.calls, args.threads, args.database_url)
    print(describe(figure))
    print(asdict(figure))


if __name__ == "__main__":
    main()
