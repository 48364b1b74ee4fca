"""Retention makes room: batches sized to the write lock's hold, rests in proportion to the work, old runs
found along their index, and a pass stopped or killed part-way leaves figures exact and goes on later."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, func, insert, select, text

from hub import retention
from hub.db.models import Base, Run, RunRollup, utcnow
from hub.retention import MAX_BATCH, MIN_BATCH, Pace, prune
from hub.runtime import Runtime
from tests.hub.engine.kit import EngineKit
from tests.hub.engine.test_retention import OLD, webhook_recipe
from tests.hub.engine.test_stats import recipe, seed, stats_of

Kit = tuple[Runtime, EngineKit]


def old_runs(rt: Runtime, recipe_id: int, count: int, *, days: int = 3) -> None:
    """`count` old finished runs without steps, spread over `days` days."""
    rows = [
        {
            "recipe_id": recipe_id,
            "recipe_version": 1,
            "status": "succeeded" if n % 4 else "failed",
            "created_at": OLD + timedelta(days=n % days, minutes=n),
            "finished_at": OLD + timedelta(days=n % days, minutes=n, seconds=1 + n % 7),
        }
        for n in range(count)
    ]
    with rt.db.transaction() as session:
        session.execute(insert(Run), rows)


def run_count(rt: Runtime) -> int:
    with rt.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Run)) or 0)


def test_batches_follow_the_write_locks_hold_within_bounds() -> None:
    pace = Pace(write_s=0.01)
    assert pace.resize(100, 0.02) == 50  # held twice the aim: half as many
    assert pace.resize(100, 0.001) == 200  # held a tenth: at most double
    assert pace.resize(100, 10.0) == MIN_BATCH
    assert pace.resize(MAX_BATCH, 0.0) == MAX_BATCH


def test_the_rest_is_proportional_to_the_work() -> None:
    pace = Pace(pause_s=0.005, duty=0.25)
    assert pace.rest_s(0.02) == pytest.approx(0.06)  # works a quarter of the time
    assert pace.rest_s(0.0) == 0.005  # never less than the pause
    assert Pace(pause_s=0.0, duty=1.0).rest_s(0.5) == 0.0


def test_a_slow_write_shrinks_the_next_batches(kit_rt: Kit) -> None:
    rt, _kit = kit_rt
    recipe_id, _path = webhook_recipe(rt)
    old_runs(rt, recipe_id, 300)
    pace = Pace(pause_s=0.0, write_s=1e-9)  # every write is "too long"
    assert prune(rt, pace=pace).runs == 300
    # rolling up, then deleting: a first batch of BATCH (100), then MIN_BATCH (10) at a time
    per_step = 1 + (300 - retention.BATCH) // MIN_BATCH
    assert len(pace.holds) == 2 * per_step
    assert run_count(rt) == 0


def test_a_quick_write_grows_the_next_batches(kit_rt: Kit) -> None:
    rt, _kit = kit_rt
    recipe_id, _path = webhook_recipe(rt)
    old_runs(rt, recipe_id, 700)
    rt.settings.retention_days = 0  # roll up only
    pace = Pace(pause_s=0.0, write_s=3600.0)
    assert prune(rt, pace=pace).rolled_up == 700
    assert len(pace.holds) == 3  # 100, 200, then 400 of which 400 are left


def test_old_runs_are_read_along_their_index_on_sqlite() -> None:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    oldest = retention._oldest_runs(utcnow(), 100).compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as connection:
        plan = " ".join(str(row[3]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {oldest}")))
    assert "ix_runs_finished" in plan and "TEMP B-TREE" not in plan


def stop_after(batches: int) -> Any:
    """A keep_going that lets `batches` batches through, like a leader losing its lease."""
    calls = iter(range(batches))
    return lambda: next(calls, None) is not None


def test_figures_are_exact_across_a_partial_roll_up(kit_rt: Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    rt, _kit = kit_rt
    recipe_id = recipe(rt)
    seed(rt, recipe_id)
    seed(rt, recipe_id, start=utcnow() - timedelta(days=3))
    monkeypatch.setattr(retention, "BATCH", 4)
    monkeypatch.setattr(retention, "MIN_BATCH", 4)
    pace = Pace(pause_s=0.0, write_s=1e-9)  # four runs a batch
    before = stats_of(rt, recipe_id)
    prune(rt, pace=pace, keep_going=stop_after(2))
    with rt.db.read() as session:
        rolled = session.scalar(select(func.count()).where(Run.rolled_up.is_(True)))
        assert rolled == 8 and session.scalar(select(func.count()).select_from(RunRollup))
    partial = stats_of(rt, recipe_id)
    assert partial["runs"] == before["runs"] and partial["by_version"].keys() == before["by_version"].keys()
    if rt.db.dialect == "sqlite":  # the same sketch either way
        assert partial == before


def test_a_pass_killed_mid_batch_loses_nothing_and_the_next_goes_on(
    kit_rt: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, _kit = kit_rt
    recipe_id = recipe(rt)
    seeder = seed(rt, recipe_id)  # October: past retention
    seed(rt, recipe_id, start=utcnow() - timedelta(days=3))
    monkeypatch.setattr(retention, "BATCH", 4)
    monkeypatch.setattr(retention, "MIN_BATCH", 4)
    before = stats_of(rt, recipe_id)
    deleted = retention._delete_runs
    calls = {"n": 0}

    def dies_in_the_third(*args: Any) -> None:
        calls["n"] += 1
        deleted(*args)  # its rows are gone inside the transaction...
        if calls["n"] == 3:
            raise KeyboardInterrupt  # ...when the process dies, before the commit

    monkeypatch.setattr(retention, "_delete_runs", dies_in_the_third)
    with pytest.raises(KeyboardInterrupt):
        prune(rt, pace=Pace(pause_s=0.0, write_s=1e-9))
    total = len(seeder.runs) * 2
    assert run_count(rt) == total - 8  # two batches went, the third rolled back
    halfway = stats_of(rt, recipe_id)
    assert halfway["runs"] == before["runs"]
    monkeypatch.setattr(retention, "_delete_runs", deleted)
    assert prune(rt, pace=Pace(pause_s=0.0)).runs == len(seeder.runs) - 1 - 8  # the rest, not the waiting run
    after = stats_of(rt, recipe_id)
    assert after["runs"] == before["runs"]
    if rt.db.dialect == "sqlite":
        assert after == before
