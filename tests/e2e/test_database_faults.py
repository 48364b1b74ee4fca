"""`hub serve` while its database keeps failing under it, as in a failover or a restart for an upgrade:
PostgreSQL terminates the hub's connections every 0.25 s, or SQLite is held locked past the hub's busy
timeout, while webhooks arrive and runs execute. Ingress answers only 202/200/503 (the vendor retries
a 503), every acknowledged event's run ends `succeeded`, none `failed`, and the sink sees each effect
under one idempotency key (a repeat after an unknown outcome keeps its key)."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.conftest import PG_URL, _pg_schema_url
from tests.e2e.harness import HubProcess, Sink, relay_recipe, runs, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

WEBHOOKS = 300
KILL_EVERY_S = 0.25


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _pg_schema_url()


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink(delay_s=0.02)  # a vendor taking 20 ms, so calls are in flight when the database goes
    yield server
    server.close()


class Vendor:
    """Posts every deal to the hook, retrying a 503 (as vendors do) until it is acknowledged."""

    def __init__(self, hook: str) -> None:
        self.hook = hook
        self.answers: Counter[int] = Counter()
        self.acknowledged: set[str] = set()
        self.lock = threading.Lock()

    def post(self, n: int) -> None:
        deal = {"deal": {"id": f"F-{n}", "stage": "won", "amount": n, "owner": "x"}}
        for _attempt in range(300):  # bounded: 300 tries of 0.1 s apart at most
            answer = requests.post(self.hook, json=deal, timeout=60)
            with self.lock:
                self.answers[answer.status_code] += 1
            if answer.status_code in (200, 202):
                with self.lock:
                    self.acknowledged.add(f"F-{n}")
                return
            assert answer.status_code == 503, answer.text
            assert answer.headers["Retry-After"].isdigit()
            time.sleep(0.1)  # sooner than Retry-After asks, to keep the test short

    def post_all(self) -> None:
        with ThreadPoolExecutor(max_workers=8) as pool:
            for future in [pool.submit(self.post, n) for n in range(WEBHOOKS)]:
                future.result()


def fault_loop(fault: Callable[[], None], stop: threading.Event, every_s: float) -> threading.Thread:
    def loop() -> None:
        while not stop.is_set():
            fault()
            stop.wait(every_s)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def run_under_faults(
    hub: HubProcess, sink: Sink, fault: Callable[[], None], every_s: float, for_s: float
) -> Vendor:
    """Post the webhooks while `fault` strikes every `every_s` for at least `for_s`; then check the end."""
    hub.start()
    try:
        headers = hub.admin_headers()
        created = requests.post(
            f"{hub.url}/api/v1/recipes", json=relay_recipe(sink.url), headers=headers, timeout=30
        )
        assert created.status_code == 201, created.text
        vendor = Vendor(created.json()["webhook_url"])
        stop = threading.Event()
        started = time.monotonic()
        striking = fault_loop(fault, stop, every_s)
        try:
            vendor.post_all()
            stop.wait(max(0.0, for_s - (time.monotonic() - started)))
        finally:
            stop.set()
            striking.join()
        assert set(vendor.answers) <= {200, 202, 503}
        assert len(vendor.acknowledged) == WEBHOOKS

        def finished() -> bool:
            return all(
                r["status"] in ("succeeded", "failed", "held", "cancelled") for r in runs(hub, headers)
            )

        wait_until(finished, timeout_s=120, what="every run to finish")
        all_runs = runs(hub, headers)
        assert Counter(r["status"] for r in all_runs) == {"succeeded": WEBHOOKS}
        assert sorted(r["event"]["deal"]["id"] for r in all_runs) == sorted(vendor.acknowledged)
        deals_by_key: dict[str, set[str]] = defaultdict(set)
        for request in sink.requests:
            deals_by_key[request["key"]].add(request["body"]["deal"])
        assert len(deals_by_key) == WEBHOOKS  # one idempotency key per event...
        assert all(len(deals) == 1 for deals in deals_by_key.values())  # ...naming one deal each
        assert set().union(*deals_by_key.values()) == vendor.acknowledged
        return vendor
    except BaseException:
        print(hub.log.read_text(errors="replace")[-6000:])  # the hub's side of a failure
        raise
    finally:
        hub.stop()


def test_postgres_connections_terminated_every_quarter_second(
    tmp_path: Path, pg_url: str, sink: Sink
) -> None:
    assert PG_URL is not None
    name = f"hub_faults_{uuid.uuid4().hex[:12]}"  # only this hub's sessions are terminated
    hub = HubProcess(tmp_path / "home", f"{pg_url}&application_name={name}", HUB_WORKERS="6")
    admin = create_engine(PG_URL, poolclass=NullPool)
    kills: list[int] = []

    def terminate() -> None:
        with admin.connect() as conn:
            done = conn.execute(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            ).scalar_one()
        kills.append(done)

    try:
        run_under_faults(hub, sink, terminate, KILL_EVERY_S, for_s=4.0)
    finally:
        admin.dispose()
    assert sum(kills) > 0 and len(kills) >= 4 / KILL_EVERY_S * 0.5


def test_sqlite_held_locked_past_the_busy_timeout(tmp_path: Path, sink: Sink) -> None:
    hub = HubProcess(tmp_path / "home", HUB_WORKERS="6", HUB_SQLITE_BUSY_TIMEOUT_S="0.3")
    held: list[float] = []

    def hold_lock() -> None:
        """The write lock for 1 s, over three times the hub's busy timeout."""
        path = tmp_path / "home" / "hub.db"
        with closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as holder:
            holder.execute("BEGIN EXCLUSIVE")
            time.sleep(1.0)
            holder.execute("ROLLBACK")
        held.append(1.0)

    vendor = run_under_faults(hub, sink, hold_lock, 0.3, for_s=4.0)
    assert sum(held) >= 3.0
    assert vendor.answers[503] > 0  # the lock was met, and answered as the vendor's to retry
