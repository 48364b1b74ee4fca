"""TokenCache.get_or_fetch: many workers asking at once fetch a vendor token once, in memory and in the DB."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from hub.db.models import CacheEntry, utcnow
from hub.engine import stores
from hub.engine.stores import DbTokenCache
from hub.runtime import Runtime
from hub.sdk.context import MemoryTokenCache, TokenCache

WORKERS = 8


class SlowFetch:
    """Counts calls; each takes a moment, so unsynchronised callers would overlap and all fetch."""

    def __init__(self, delay_s: float = 0.1) -> None:
        self.calls = 0
        self.delay_s = delay_s
        self._lock = threading.Lock()

    def __call__(self) -> tuple[str, float]:
        with self._lock:
            self.calls += 1
            number = self.calls
        time.sleep(self.delay_s)
        return f"token-{number}", 600.0


def run_workers(count: int, work: Callable[[], Any]) -> list[Any]:
    """Start `count` threads together and return what each got (or raised)."""
    results: list[Any] = [None] * count
    start = threading.Barrier(count)

    def one(i: int) -> None:
        start.wait()
        try:
            results[i] = work()
        except Exception as exc:  # collected for the assertions
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


@pytest.fixture
def db_cache(runtime: Runtime) -> DbTokenCache:
    return DbTokenCache(runtime.db, runtime.vault)


def caches(runtime: Runtime) -> list[TokenCache]:
    return [MemoryTokenCache(), DbTokenCache(runtime.db, runtime.vault)]


def test_concurrent_callers_fetch_once_and_share_the_value(runtime: Runtime) -> None:
    for cache in caches(runtime):
        fetch = SlowFetch()
        got = run_workers(WORKERS, lambda c=cache, f=fetch: c.get_or_fetch("conn:1:token", f))
        assert fetch.calls == 1, type(cache).__name__
        assert got == ["token-1"] * WORKERS
        assert cache.get("conn:1:token") == "token-1"


def test_db_cache_instances_per_context_still_fetch_once(runtime: Runtime) -> None:
    # The engine builds a DbTokenCache for every step, so the lock cannot live on the instance.
    fetch = SlowFetch()
    got = run_workers(
        WORKERS, lambda: DbTokenCache(runtime.db, runtime.vault).get_or_fetch("conn:2:token", fetch)
    )
    assert fetch.calls == 1 and set(got) == {"token-1"}


def test_a_cached_value_is_not_fetched_and_an_expired_one_is(runtime: Runtime) -> None:
    for cache in caches(runtime):
        fetch = SlowFetch(0)
        cache.set("k", "kept", 60)
        assert cache.get_or_fetch("k", fetch) == "kept" and fetch.calls == 0
        cache.set("k", "old", -1)
        assert cache.get_or_fetch("k", fetch) == "token-1" and fetch.calls == 1


def test_stale_value_is_dropped_and_renewed_once_for_all_who_saw_it_refused(runtime: Runtime) -> None:
    for cache in caches(runtime):
        cache.set("k", "refused", 600)
        fetch = SlowFetch()
        got = run_workers(WORKERS, lambda c=cache, f=fetch: c.get_or_fetch("k", f, stale="refused"))
        assert fetch.calls == 1 and got == ["token-1"] * WORKERS, type(cache).__name__
        # A newer value than the one the caller saw refused is used as it is.
        assert cache.get_or_fetch("k", fetch, stale="refused") == "token-1" and fetch.calls == 1


def test_failed_fetch_raises_keeps_nothing_and_the_next_caller_fetches(runtime: Runtime) -> None:
    for cache in caches(runtime):
        cache.set("k", "refused", 600)

        def broken() -> tuple[str, float]:
            raise RuntimeError("vendor down")

        with pytest.raises(RuntimeError, match="vendor down"):
            cache.get_or_fetch("k", broken, stale="refused")
        assert cache.get("k") is None  # the refused value is not handed to anyone else
        assert cache.get_or_fetch("k", lambda: ("fresh", 60)) == "fresh"


def test_db_lease_held_by_another_process_makes_us_wait_for_its_value(db_cache: DbTokenCache) -> None:
    other = db_cache._take_lease("conn:3:token")  # what a worker in another process holds
    assert other is not None and db_cache._take_lease("conn:3:token") is None
    fetch = SlowFetch(0)
    got: list[Any] = []
    waiter = threading.Thread(target=lambda: got.append(db_cache.get_or_fetch("conn:3:token", fetch)))
    waiter.start()
    time.sleep(0.3)
    assert waiter.is_alive() and fetch.calls == 0  # waiting for the lease holder
    db_cache.set("conn:3:token", "from-the-other-process", 600)
    db_cache._drop_lease("conn:3:token", other)
    waiter.join(timeout=10)
    assert got == ["from-the-other-process"] and fetch.calls == 0


def test_db_lease_of_a_dead_worker_expires_and_is_taken_over(
    runtime: Runtime, db_cache: DbTokenCache
) -> None:
    with runtime.db.transaction() as session:
        session.add(
            CacheEntry(key="lease:conn:4:token", value="dead", expires_at=utcnow() - timedelta(seconds=1))
        )
    fetch = SlowFetch(0)
    assert db_cache.get_or_fetch("conn:4:token", fetch) == "token-1" and fetch.calls == 1
    with runtime.db.transaction() as session:
        assert session.get(CacheEntry, "lease:conn:4:token") is None  # released after the fetch


def test_db_waiter_fetches_itself_when_the_lease_is_never_released(
    db_cache: DbTokenCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stores, "LEASE_S", 0.3)
    assert db_cache._take_lease("conn:5:token") is not None  # a worker that hangs
    fetch = SlowFetch(0)
    started = time.monotonic()
    assert db_cache.get_or_fetch("conn:5:token", fetch) == "token-1" and fetch.calls == 1
    assert time.monotonic() - started >= 0.3
