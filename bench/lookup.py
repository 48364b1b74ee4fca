"""Lookup tables: loading a large table, and the per-call cost of `lookup.find` and `lookup()`.

    .venv/bin/python -m bench.lookup                  # 50,000 rows, 2,000 calls of each kind
    .venv/bin/python -m bench.lookup --quick          # 50,000 rows, 200 calls
    .venv/bin/python -m bench.lookup --database-url postgresql+psycopg://...

Runs in-process on a fresh database (SQLite in a temporary folder by default): no server, no network.
`find` matches on a column that is not the key (the cell index), `lookup()` reads by key; both pick
rows spread over the whole table, each call a fresh read (no per-run cache).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from hub import templating
from hub.config import Settings
from hub.runtime import Runtime
from hub.sdk.context import Context
from hub.services import tables as service
from hub.utilities.lookup import connector, template_function


@dataclass
class LookupFigure:
    rows: int
    calls: int
    database: str
    load_s: float
    find_mean_ms: float
    find_p99_ms: float
    key_mean_ms: float
    key_p99_ms: float
    render_mean_ms: float


def _timed(calls: int, once: Callable[[int], Any]) -> list[float]:
    times = []
    for i in range(calls):
        started = time.perf_counter()
        once(i)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _p99(times: list[float]) -> float:
    return round(sorted(times)[int(len(times) * 0.99) - 1], 3)


def measure(rows: int, calls: int, database_url: str | None = None) -> LookupFigure:
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-lookup-"))
    settings = Settings(
        home=workdir,
        database_url=database_url or f"sqlite:///{workdir / 'hub.db'}",
        vault_keys=Fernet.generate_key().decode(),
    )
    rt = Runtime.create(settings)
    try:
        service.create_table(
            rt, actor="bench", name="leads", columns=["id", "email", "城市", "owner"], key="id"
        )
        data = [
            {
                "id": f"L{i:06d}",
                "email": f"lead{i}@example.com",
                "城市": f"城市{i % 300}",
                "owner": f"o{i % 40}",
            }
            for i in range(rows)
        ]
        started = time.perf_counter()
        service.replace_rows(rt, actor="bench", name="leads", rows=data)
        load_s = time.perf_counter() - started

        picks = [random.Random(7).randrange(rows) for _ in range(calls)]
        ctx = Context(connector=connector, hub=rt)
        find = connector.action("find")
        assert find is not None

        def one_find(i: int) -> None:
            out = find.perform(ctx, {"table": "leads", "where": {"email": f"lead{picks[i]}@example.com"}})
            assert out["found"]

        def one_key(i: int) -> None:
            assert template_function(rt.db)("leads", f"L{picks[i]:06d}", "owner") is not None

        def one_render(i: int) -> None:
            context = {"event": {"id": f"L{picks[i]:06d}"}, "lookup": template_function(rt.db)}
            assert templating.render_value("{{ lookup('leads', event.id, 'owner') }}", context)

        find_times, key_times, render_times = (_timed(calls, f) for f in (one_find, one_key, one_render))
        return LookupFigure(
            rows=rows,
            calls=calls,
            database=rt.db.dialect,
            load_s=round(load_s, 2),
            find_mean_ms=round(statistics.fmean(find_times), 3),
            find_p99_ms=_p99(find_times),
            key_mean_ms=round(statistics.fmean(key_times), 3),
            key_p99_ms=_p99(key_times),
            render_mean_ms=round(statistics.fmean(render_times), 3),
        )
    finally:
        rt.close()
        shutil.rmtree(workdir, ignore_errors=True)


def describe(figure: LookupFigure) -> str:
    return (
        f"lookup tables ({figure.database}, {figure.rows} rows, {figure.calls} calls each): "
        f"load {figure.load_s} s; lookup.find by a non-key column {figure.find_mean_ms} ms mean, "
        f"p99 {figure.find_p99_ms} ms; lookup() by key {figure.key_mean_ms} ms mean, "
        f"p99 {figure.key_p99_ms} ms; "
        f"a template rendering lookup() {figure.render_mean_ms} ms mean"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--quick", action="store_true", help="200 calls of each kind")
    args = parser.parse_args()
    figure = measure(args.rows, 200 if args.quick else args.calls, args.database_url)
    print(describe(figure))
    print(asdict(figure))


if __name__ == "__main__":
    main()
