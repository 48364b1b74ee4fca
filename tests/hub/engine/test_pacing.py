"""Acknowledgements paced to delivery: an answer waits while the runs ahead of it are more than
`ahead_s` of measured work, never longer than `hold_s`, and not at all when runs keep up."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import select

from hub.app import create_app
from hub.config import Settings
from hub.db.models import Event, Run
from hub.engine import executor as executor_module
from hub.engine.executor import LocalExecutor
from hub.engine.pacing import AckPacer
from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime
from tests.hub.engine.kit import EngineKit
from tests.hub.engine.test_runner import echo, recipe


def _pacer(backlog: list[int], **kwargs: Any) -> AckPacer:
    options = {"threads": 2, "ahead_s": 1.0, "hold_s": 1.0, "floor": 4} | kwargs
    return AckPacer(lambda: backlog[0], **options)


def test_the_limit_is_the_floor_until_runs_measure_a_second_of_work() -> None:
    pacer = _pacer([0])
    assert pacer.limit() == 4
    pacer.ran(0.01)  # two threads, 10 ms a run: 200 runs a second
    assert pacer.limit() == 200
    for _ in range(200):  # runs slow down to 40 ms: the average follows
        pacer.ran(0.04)
    assert pacer.run_s == pytest.approx(0.04, rel=0.01) and pacer.limit() == 50
    for _ in range(200):  # slow runs (a vendor taking seconds) never bring it under the floor
        pacer.ran(3.0)
    assert pacer.limit() == 4
    assert _pacer([0], ahead_s=2.0, threads=8).limit() == 4
    paced = _pacer([0], ahead_s=2.0, threads=8)
    paced.ran(0.02)
    assert paced.limit() == 800  # 8 threads x 50 runs a second x 2 s


def test_an_answer_within_the_limit_or_with_pacing_off_does_not_wait() -> None:
    backlog = [4]
    assert _pacer(backlog).make_room() == 0.0
    backlog[0] = 1000
    assert _pacer(backlog, ahead_s=0.0).make_room() == 0.0
    assert _pacer(backlog, hold_s=0.0).make_room() == 0.0


def test_an_answer_waits_until_runs_finish_and_no_longer() -> None:
    backlog = [10]
    pacer = _pacer(backlog, hold_s=5.0)
    held: list[float] = []
    waiter = threading.Thread(target=lambda: held.append(pacer.make_room()))
    waiter.start()
    time.sleep(0.2)
    assert not held, "answered while ten runs were queued against a limit of four"
    backlog[0] = 4
    pacer.ran(0.5)
    waiter.join(2)
    assert held and 0.15 < held[0] < 2


def test_held_answers_go_in_order_one_per_run_finished_and_newcomers_queue_behind() -> None:
    backlog = [10]
    pacer = _pacer(backlog, hold_s=5.0)
    released: list[int] = []
    waiters = []
    for n in range(3):
        waiter = threading.Thread(target=lambda n=n: (pacer.make_room(), released.append(n)))
        waiter.start()
        waiters.append(waiter)
        time.sleep(0.05)  # so they queue in this order
    backlog[0] = 4  # within the limit, but answers are held: a newcomer queues behind them
    late = threading.Thread(target=lambda: (pacer.make_room(), released.append(3)))
    late.start()
    time.sleep(0.05)
    assert released == []
    for expected in ([0], [0, 1], [0, 1, 2], [0, 1, 2, 3]):
        pacer.ran(0.5)
        deadline = time.monotonic() + 2
        while released != expected and time.monotonic() < deadline:
            time.sleep(0.01)
        assert released == expected
    for waiter in [*waiters, late]:
        waiter.join(2)
    assert pacer.make_room() == 0.0  # nobody held, within the limit: answered at once


def test_an_answer_is_held_at_most_hold_s() -> None:
    pacer = _pacer([1000], hold_s=0.2)
    started = time.monotonic()
    held = pacer.make_room()
    assert 0.19 < held < 1 and time.monotonic() - started < 1


def test_closing_answers_every_held_acknowledgement() -> None:
    pacer = _pacer([1000], hold_s=30.0)
    held: list[float] = []
    waiter = threading.Thread(target=lambda: held.append(pacer.make_room()))
    waiter.start()
    time.sleep(0.1)
    pacer.close()
    waiter.join(2)
    assert held and held[0] < 2
    assert pacer.make_room() < 0.1


class _Blocking:
    """Stands in for Runner: each run waits until released."""

    def __init__(self) -> None:
        self.release = threading.Semaphore(0)

    def __call__(self, _runtime: Any) -> _Blocking:
        return self

    def execute(self, run_id: int, fresh: Any = None) -> None:
        assert self.release.acquire(timeout=5)


def test_the_executor_holds_answers_while_its_queue_is_past_the_floor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runner = _Blocking()
    monkeypatch.setattr(executor_module, "Runner", runner)
    pool = LocalExecutor(runtime=None, workers=1, ack_ahead_s=1.0, ack_hold_s=5.0)  # type: ignore[arg-type]
    try:
        for run_id in range(1, 3):  # the floor is two runs per run thread
            pool.submit(run_id)
        assert pool.make_room() == 0.0
        pool.submit(3)
        held: list[float] = []
        waiter = threading.Thread(target=lambda: held.append(pool.make_room()))
        waiter.start()
        time.sleep(0.2)
        assert not held and pool.backlog() == 3
        runner.release.release()  # one run finishes: two left, within the floor
        waiter.join(2)
        assert held and 0.15 < held[0] < 2
    finally:
        for _ in range(3):
            runner.release.release()
        pool.shutdown(wait=True, timeout_s=5)


def test_the_settings_read_and_check_the_pace() -> None:
    defaults = Settings.from_env({})
    assert (defaults.ack_ahead_s, defaults.ack_hold_s) == (1.0, 1.0)
    tuned = Settings.from_env({"HUB_ACK_AHEAD_S": "0", "HUB_ACK_HOLD_S": "2.5"})
    assert (tuned.ack_ahead_s, tuned.ack_hold_s) == (0.0, 2.5)
    for name, value in (("HUB_ACK_AHEAD_S", "-1"), ("HUB_ACK_HOLD_S", "61"), ("HUB_ACK_HOLD_S", "nan")):
        with pytest.raises(ValueError, match=name):
            Settings.from_env({name: value})
    with pytest.raises(ValueError, match="HUB_ACK_AHEAD_S"):
        Settings.from_env({"HUB_ACK_AHEAD_S": "soon"})


def test_a_webhook_is_stored_and_queued_before_its_answer_is_held(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, _kit = kit_rt
    seen: list[tuple[str, int, int]] = []

    class Behind:
        """An executor whose runs are behind: it holds each answer a little."""

        def submit(self, run_id: int, fresh: Any = None) -> None:
            seen.append(("queued", run_id, 0))

        def make_room(self) -> float:
            with rt.db.read() as session:  # what a crash while held would leave
                events, runs = session.scalars(select(Event)).all(), session.scalars(select(Run)).all()
                seen.append(("held", len(events), len(runs)))
            return 0.25

        def shutdown(self, wait: bool = True) -> None:
            return None

    rt.executor = Behind()
    with rt.db.transaction() as session:
        url = hook_urls(session, rt, save_recipe(session, rt, recipe([echo("a")])))["webhook_url"]
    client = create_app(rt).test_client()
    path = url.split(rt.settings.base_url, 1)[1]
    assert client.post(path, json={"n": 1}).status_code == 202
    assert client.post(path, json={"n": 2}, headers={"Idempotency-Key": "k"}).status_code == 202
    assert client.post(path, json={"n": 2}, headers={"Idempotency-Key": "k"}).status_code == 200
    # each answer held after its event and run were stored and queued; the duplicate queued nothing
    assert [what for what, _events, _runs in seen] == ["queued", "held", "queued", "held"]
    assert [(events, runs) for what, events, runs in seen if what == "held"] == [(1, 1), (2, 2)]
    metrics = rt.metrics.render().decode()
    assert "hub_webhook_acks_held_total 2.0" in metrics
    assert "hub_webhook_ack_held_seconds_total 0.5" in metrics
