"""The runtime's recipe index: cached until a recipe changes, here at once, elsewhere within the interval."""

from __future__ import annotations

import os
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from hub import recipe_index
from hub.config import Settings
from hub.connections import update_connection
from hub.db.models import Connection, Recipe
from hub.engine import control
from hub.engine.runner import Runner
from hub.recipe_index import current_version
from hub.recipe_store import delete_recipe, get_recipe, save_recipe, set_enabled
from hub.runtime import Runtime
from tests.hub.engine.kit import EngineKit
from tests.hub.engine.test_runner import echo, load, recipe, start


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The index's monotonic clock, moved by hand."""
    now = SimpleNamespace(value=1000.0)
    monkeypatch.setattr(recipe_index, "time", SimpleNamespace(monotonic=lambda: now.value))
    return now


def _saved(rt: Runtime, name: str = "first") -> int:
    with rt.db.transaction() as session:
        return save_recipe(session, rt, recipe([echo("a")], name=name)).id


def _name_reader(rt: Runtime, recipe_id: int, loads: list[str]) -> Callable[[], str]:
    def load() -> str:
        with rt.db.read() as session:
            name = current_version(session, recipe_id).name
        loads.append(name)
        return name

    return load


def _rename(rt: Runtime, recipe_id: int, name: str) -> None:
    with rt.db.transaction() as session:
        save_recipe(session, rt, recipe([echo("a")], name=name), recipe=get_recipe(session, recipe_id))


def test_a_save_in_this_process_is_seen_at_once(
    kit_rt: tuple[Runtime, EngineKit], clock: SimpleNamespace
) -> None:
    rt, _ = kit_rt
    recipe_id, loads = _saved(rt), []
    load = _name_reader(rt, recipe_id, loads)
    assert rt.recipes.lookup("name", load) == "first"
    assert rt.recipes.lookup("name", load) == "first"
    assert loads == ["first"]  # kept
    _rename(rt, recipe_id, "second")
    assert rt.recipes.lookup("name", load) == "second"  # no time passed: dropped by the commit


@pytest.mark.parametrize("change", ["disable", "delete"])
def test_enabling_disabling_and_deleting_drop_the_index(
    kit_rt: tuple[Runtime, EngineKit], clock: SimpleNamespace, change: str
) -> None:
    rt, _ = kit_rt
    recipe_id, loads = _saved(rt), []
    load = _name_reader(rt, recipe_id, loads)
    rt.recipes.lookup("name", load)
    with rt.db.transaction() as session:
        found = session.get(Recipe, recipe_id)
        assert found is not None
        if change == "disable":
            set_enabled(session, found, False)
        else:
            delete_recipe(session, found)
    rt.recipes.lookup("name", load)
    assert len(loads) == 2


def test_a_change_after_an_undone_one_is_still_marked(
    kit_rt: tuple[Runtime, EngineKit], settings: Settings, clock: SimpleNamespace
) -> None:
    """A unit of work that marked a change and was undone (a savepoint of a group commit) must not
    keep the next unit in the same transaction from marking its own."""
    rt, _ = kit_rt
    recipe_id, loads = _saved(rt), []
    other = Runtime.create(settings, migrate=False, registry=rt.registry)
    try:
        load = _name_reader(other, recipe_id, loads)
        other.recipes.lookup("name", load)
        with rt.db.transaction() as session:
            undone = session.begin_nested()
            set_enabled(session, get_recipe(session, recipe_id), False)
            undone.rollback()
            save_recipe(session, rt, recipe([echo("a")], name="third"), recipe=get_recipe(session, recipe_id))
        clock.value += recipe_index.CHECK_EVERY_S
        assert other.recipes.lookup("name", load) == "third"
    finally:
        other.close()


def test_another_runtime_sees_a_change_within_the_check_interval(
    kit_rt: tuple[Runtime, EngineKit], settings: Settings, clock: SimpleNamespace
) -> None:
    rt, _ = kit_rt
    recipe_id, loads = _saved(rt), []
    other = Runtime.create(settings, migrate=False, registry=rt.registry)
    try:
        load = _name_reader(other, recipe_id, loads)
        assert other.recipes.lookup("name", load) == "first"
        _rename(rt, recipe_id, "second")
        assert other.recipes.lookup("name", load) == "first"  # within the interval: may be stale
        clock.value += recipe_index.CHECK_EVERY_S
        assert other.recipes.lookup("name", load) == "second"
    finally:
        other.close()


def test_nothing_changed_nothing_read_again(
    kit_rt: tuple[Runtime, EngineKit], clock: SimpleNamespace
) -> None:
    """Past the interval only the marker is read: unchanged recipes are not loaded again."""
    rt, _ = kit_rt
    recipe_id, loads = _saved(rt), []
    load = _name_reader(rt, recipe_id, loads)
    rt.recipes.lookup("name", load)
    clock.value += recipe_index.CHECK_EVERY_S * 10
    rt.recipes.lookup("name", load)
    assert loads == ["first"]


def test_a_read_begun_before_a_change_is_not_kept(
    kit_rt: tuple[Runtime, EngineKit], clock: SimpleNamespace
) -> None:
    rt, _ = kit_rt
    recipe_id, loads = _saved(rt), []
    read_name = _name_reader(rt, recipe_id, loads)

    def load_then_changed() -> str:
        name = read_name()
        _rename(rt, recipe_id, "second")  # committed while the first read was on its way...
        rt.recipes.lookup("other", lambda: None)  # ...and another thread already learnt of it
        return name

    assert rt.recipes.lookup("name", load_then_changed) == "first"
    assert rt.recipes.lookup("name", read_name) == "second"


def test_a_run_after_a_connection_rename_reads_the_renamed_document(
    kit_rt: tuple[Runtime, EngineKit],
) -> None:
    """Renaming a connection rewrites the stored versions naming it; a worker that ran the version
    before must not keep executing its old text (the step would name a connection that is gone)."""
    rt, kit = kit_rt
    first = start(rt, recipe([echo("a")]), {"name": "x"})
    assert load(rt, first)[0].status == "succeeded"
    with rt.db.transaction() as session:
        connection = session.scalars(select(Connection).where(Connection.name == "kit")).one()
        update_connection(session, rt.registry, rt.vault, connection, name="kit2")
    with rt.db.transaction() as session:
        again = control.replay(session, first).id
    Runner(rt).execute(again)
    run, _ = load(rt, again)
    assert run.status == "succeeded", run.error
    assert len(kit.calls) == 2


def test_processes_of_one_serve_see_a_change_at_once(
    kit_rt: tuple[Runtime, EngineKit], settings: Settings, clock: SimpleNamespace
) -> None:
    """Siblings sharing a change counter drop their cache at their next lookup, not CHECK_EVERY_S later."""
    rt, _ = kit_rt
    recipe_id, loads = _saved(rt), []
    siblings = recipe_index.SiblingChanges()
    other = Runtime.create(settings, migrate=False, registry=rt.registry)
    try:
        rt.recipes.share_changes(siblings)
        other.recipes.share_changes(siblings)
        load = _name_reader(other, recipe_id, loads)
        assert other.recipes.lookup("name", load) == "first"
        _rename(rt, recipe_id, "second")
        assert other.recipes.lookup("name", load) == "second"  # the clock has not moved
        assert other.recipes.lookup("name", load) == "second" and loads == ["first", "second"]
    finally:
        other.close()


def test_the_change_counter_is_shared_with_forked_processes() -> None:
    siblings = recipe_index.SiblingChanges()
    before = siblings.value()
    pid = os.fork()
    if pid == 0:  # the child bumps and leaves at once
        siblings.bump()
        os._exit(0)
    os.waitpid(pid, 0)
    assert siblings.value() == before + 1
