"""The local executor: a run queued twice executes once; shutdown lets runs in progress finish."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from hub.engine import executor as executor_module
from hub.engine.executor import LocalExecutor
from hub.engine.run.fresh import FreshRun
from hub.engine.statements import Record


class _Recorder:
    """Stands in for Runner: records run ids and blocks each until released."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.finished: list[int] = []
        self.fresh: dict[int, FreshRun | None] = {}
        self.release = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, _runtime: Any) -> _Recorder:
        return self

    def execute(self, run_id: int, fresh: FreshRun | None = None) -> None:
        with self.lock:
            self.started.append(run_id)
            self.fresh[run_id] = fresh
        self.release.wait(5)
        with self.lock:
            self.finished.append(run_id)


def _until(check: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> _Recorder:
    fake = _Recorder()
    monkeypatch.setattr(executor_module, "Runner", fake)
    return fake


def test_a_run_queued_twice_executes_once(recorder: _Recorder) -> None:
    pool = LocalExecutor(runtime=None, workers=1)  # type: ignore[arg-type]
    for run_id in (1, 2, 2, 3, 3):
        pool.submit(run_id)
    recorder.release.set()
    _until(lambda: len(recorder.finished) == 3)
    pool.submit(2)  # done, so it may be queued again (a run woken from a wait)
    _until(lambda: len(recorder.finished) == 4)
    pool.shutdown()
    assert recorder.finished == [1, 2, 3, 2]


def test_shutdown_lets_runs_in_progress_finish_and_leaves_queued_ones(recorder: _Recorder) -> None:
    pool = LocalExecutor(runtime=None, workers=2)  # type: ignore[arg-type]
    for run_id in range(1, 6):
        pool.submit(run_id)
    _until(lambda: len(recorder.started) == 2)
    threading.Timer(0.2, recorder.release.set).start()
    pool.shutdown(wait=True)
    assert sorted(recorder.finished) == [1, 2]  # 3-5 stay stored for the sweeper
    pool.submit(9)
    time.sleep(0.05)
    assert 9 not in recorder.started


def test_past_the_backlog_runs_wait_in_the_overflow_then_are_left_to_the_sweeper(
    recorder: _Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LocalExecutor, "BACKLOG", 3)
    monkeypatch.setattr(LocalExecutor, "OVERFLOW", 3)
    pool = LocalExecutor(runtime=None, workers=1)  # type: ignore[arg-type]
    for run_id in range(1, 9):
        pool.submit(run_id)  # 1-3 queued, 4-6 waiting past the backlog, 7 and 8 left stored
    pool.submit(4)  # sent again while waiting (the sweeper): it still runs once
    recorder.release.set()
    _until(lambda: len(recorder.finished) == 6)
    assert recorder.finished == [1, 2, 3, 4, 5, 6]
    assert recorder.fresh[4] is None  # read back when it runs: its row was not held
    pool.submit(7)  # what the sweeper does for a stored run nobody took
    _until(lambda: len(recorder.finished) == 7)
    pool.shutdown()
    assert recorder.finished == [1, 2, 3, 4, 5, 6, 7]


def test_the_overflow_gives_back_the_space_of_runs_taken(
    recorder: _Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LocalExecutor, "BACKLOG", 1)
    pool = LocalExecutor(runtime=None, workers=1)  # type: ignore[arg-type]
    for run_id in range(1, 10_002):
        pool.submit(run_id)
    recorder.release.set()
    _until(lambda: len(recorder.finished) == 10_001, timeout_s=30)
    assert recorder.finished == list(range(1, 10_002))
    assert len(pool._overflow) == 0 and pool._overflow_at == 0
    pool.shutdown()


@pytest.mark.parametrize(
    ("bound", "value", "size"),
    [("FRESH_BYTES", 250, 100), ("FRESH_HELD", 2, 1)],
    ids=["bytes", "count"],
)
def test_runs_come_with_their_rows_while_the_held_ones_stay_under_the_bounds(
    recorder: _Recorder, monkeypatch: pytest.MonkeyPatch, bound: str, value: int, size: int
) -> None:
    """Held: at most FRESH_HELD runs and FRESH_BYTES of their bodies; past either, a run is read back."""
    monkeypatch.setattr(LocalExecutor, bound, value)
    pool = LocalExecutor(runtime=None, workers=1)  # type: ignore[arg-type]
    handed = {run_id: FreshRun(Record(id=run_id), {"n": run_id}, size) for run_id in range(1, 5)}
    pool.submit(1, handed[1])
    _until(lambda: recorder.started == [1])  # taken: no longer held
    for run_id in (2, 3, 4):
        pool.submit(run_id, handed[run_id])
    recorder.release.set()
    _until(lambda: len(recorder.finished) == 4)
    assert recorder.fresh == {1: handed[1], 2: handed[2], 3: handed[3], 4: None}  # 4 is read back
    assert pool._fresh_bytes == 0 and not pool._fresh
    pool.shutdown()
