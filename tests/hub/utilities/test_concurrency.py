"""Concurrent writers from threads and processes get exact counts, even turns and one CAS winner.

A read-modify-write in Python (read the number, add, write it back) loses updates here on
PostgreSQL, and a rotation read without its row lock hands two runs the same turn.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hub.runtime import Runtime
from tests.hub.utilities.kit import call, hammer

MEMBERS = ["ann", "bob", "cy", "dee", "eve"]


def in_threads(count: int, fn: Any) -> list[Any]:
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: fn(), range(count)))


def test_fifty_concurrent_increments_count_exactly(runtime: Runtime) -> None:
    values = in_threads(50, lambda: call(runtime, "storage", "increment", {"key": "hits"})["value"])
    assert sorted(values) == list(range(1, 51))  # every increment saw its own total
    assert call(runtime, "storage", "get", {"key": "hits"})["value"] == 50


def test_fifty_concurrent_appends_keep_every_item(runtime: Runtime) -> None:
    lengths = in_threads(50, lambda: call(runtime, "storage", "append", {"key": "log", "value": 1})["length"])
    assert sorted(lengths) == list(range(1, 51))


def test_fifty_concurrent_round_robin_turns_are_perfectly_even(runtime: Runtime) -> None:
    def turn() -> dict[str, Any]:
        return call(runtime, "assign", "round_robin", {"rotation": "reps", "members": MEMBERS})

    turns = in_threads(50, turn)
    assert sorted(t["count"] for t in turns) == list(range(1, 51))  # no two runs got the same turn
    assert Counter(t["assignee"] for t in turns) == {member: 10 for member in MEMBERS}
    by_count = sorted(turns, key=lambda t: t["count"])
    assert [t["assignee"] for t in by_count[:5]] == MEMBERS  # in order, turn by turn


def test_compare_and_set_under_contention_lets_exactly_one_writer_win(runtime: Runtime) -> None:
    call(runtime, "storage", "set", {"key": "deal", "value": "open"})
    counter = iter(range(1000))

    def claim() -> dict[str, Any]:
        mine = f"worker-{next(counter)}"
        result = call(
            runtime, "storage", "compare_and_set", {"key": "deal", "expected": "open", "value": mine}
        )
        return {"mine": mine, **result}

    results = in_threads(30, claim)
    winners = [r for r in results if r["swapped"]]
    assert len(winners) == 1
    assert call(runtime, "storage", "get", {"key": "deal"})["value"] == winners[0]["mine"]
    assert all(r["previous"] == winners[0]["mine"] for r in results if not r["swapped"])


def test_two_processes_with_threads_count_and_rotate_exactly(runtime: Runtime) -> None:
    """Two processes (five threads each, five calls per thread) on one database: 50 of each."""
    spawn = multiprocessing.get_context("spawn")
    start, out = spawn.Event(), spawn.Queue()
    url = runtime.settings.database_url
    processes = [spawn.Process(target=hammer, args=(url, start, 5, 5, out)) for _ in range(2)]
    for process in processes:
        process.start()
    start.set()
    results = [out.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    values = [v for result in results for v in result[0]]
    assignees = [a for result in results for a in result[1]]
    assert sorted(values) == list(range(1, 51))
    assert Counter(assignees) == {member: 10 for member in MEMBERS}
    turn = call(runtime, "assign", "round_robin", {"rotation": "reps", "members": MEMBERS})
    assert turn == {"assignee": "ann", "index": 0, "count": 51}


def test_concurrent_repeats_of_one_attempt_apply_it_once(runtime: Runtime) -> None:
    """Two workers repeating the same attempt at once (a redelivered run): one write, one answer."""
    results = in_threads(10, lambda: call(runtime, "storage", "increment", {"key": "once"}, key="run9:count"))
    assert results == [{"value": 1}] * 10
    assert call(runtime, "storage", "get", {"key": "once"})["value"] == 1
