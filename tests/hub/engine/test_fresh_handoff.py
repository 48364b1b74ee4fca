"""A run handed over with its row and event, as the ingress of this process stored it.

It must run exactly as one read back would, and trust nothing that could have changed: a run
cancelled or taken over after it was handed over is left alone, and a last write that finds the
lease gone commits nothing."""

from __future__ import annotations

from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub import recipe_index
from hub.app import create_app
from hub.db.models import Event, Run, StepAttempt, StepRun
from hub.engine import store
from hub.engine.intake import store_events
from hub.engine.run.fresh import FreshRun
from hub.engine.runner import Runner
from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime
from hub.sdk.types import TriggerEvent
from tests.hub.engine.kit import EngineKit
from tests.hub.engine.test_runner import echo, load, recipe


def _stored(rt: Runtime, document: dict[str, Any], *events: dict[str, Any]) -> list[FreshRun]:
    """A new recipe and a run of it for each of `events`, as the ingress hands them over."""
    with rt.db.transaction() as session:
        r = save_recipe(session, rt, document)
        stored = store_events(
            session,
            recipe_id=r.id,
            recipe_version=r.current_version,
            source="test",
            events=[TriggerEvent(data=event) for event in events],
        )
    handed = [
        FreshRun(s.run, event, 10) for s, event in zip(stored, events, strict=True) if s.run is not None
    ]
    assert len(handed) == len(events)
    return handed


def _count_reads(monkeypatch: pytest.MonkeyPatch, rt: Runtime) -> list[None]:
    """One item per read session opened from now on."""
    opened: list[None] = []
    read = rt.db.read

    def counted() -> AbstractContextManager[Session]:
        opened.append(None)
        return read()

    monkeypatch.setattr(rt.db, "read", counted)
    return opened


def _no_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any) -> None:
        raise AssertionError("a run handed over fresh was read back")

    for name in ("read_run", "read_event_payload", "read_steps"):
        monkeypatch.setattr(store, name, refuse)


def test_a_run_handed_over_runs_from_memory_as_one_read_back_would(
    kit_rt: tuple[Runtime, EngineKit], monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, kit = kit_rt
    document = recipe([echo("a"), echo("b", value="{{ steps.a.echo }}!")])
    (read_back,) = _stored(rt, document, {"name": "Ada"})
    Runner(rt).execute(read_back.run.id)
    (handed,) = _stored(rt, document, {"name": "Ada"})
    assert handed.run.status == "queued" and handed.run.started_at is None  # the row as inserted
    _no_reads(monkeypatch)
    Runner(rt).execute(handed.run.id, handed)
    first, first_steps = load(rt, read_back.run.id)
    second, second_steps = load(rt, handed.run.id)
    assert first.status == second.status == "succeeded" and second.lease_owner is None
    assert (
        {k: (s.status, s.output["echo"]) for k, s in second_steps.items()}
        == {k: (s.status, s.output["echo"]) for k, s in first_steps.items()}
        == {"a": ("succeeded", "Ada"), "b": ("succeeded", "Ada!")}
    )
    assert [c["inputs"]["value"] for c in kit.calls] == ["Ada", "Ada!", "Ada", "Ada!"]


def test_a_run_handed_over_opens_a_session_only_to_read_what_is_not_cached(
    kit_rt: tuple[Runtime, EngineKit], monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, _kit = kit_rt
    monkeypatch.setattr(recipe_index, "CHECK_EVERY_S", 3600.0)  # no marker falls due meanwhile
    greet = {"id": "greet", "type": "set", "values": {"hi": "{{ event.name }}"}}  # a step that reads nothing
    first, second = _stored(rt, recipe([greet]), {"name": "Ada"}, {"name": "Bob"})
    opened = _count_reads(monkeypatch, rt)
    Runner(rt).execute(first.run.id, first)  # the recipe just changed: its marker and version are read
    assert len(opened) == 1
    Runner(rt).execute(second.run.id, second)  # both cached now
    assert len(opened) == 1
    ran = [load(rt, h.run.id) for h in (first, second)]
    assert [(run.status, steps["greet"].output) for run, steps in ran] == [
        ("succeeded", {"hi": "Ada"}),
        ("succeeded", {"hi": "Bob"}),
    ]


def test_a_run_handed_over_sees_its_event_with_the_types_a_read_back_run_sees(
    kit_rt: tuple[Runtime, EngineKit],
) -> None:
    """A connector may hand over floats; stored, they come back as Decimals (money stays exact)."""
    rt, kit = kit_rt
    document = recipe([echo("a", value="{{ event.amount }}")])
    (read_back,) = _stored(rt, document, {"amount": 12.5})
    Runner(rt).execute(read_back.run.id)
    (handed,) = _stored(rt, document, {"amount": 12.5})
    Runner(rt).execute(handed.run.id, handed)
    seen = [c["inputs"]["value"] for c in kit.calls]
    assert seen == [Decimal("12.5"), Decimal("12.5")] and all(isinstance(v, Decimal) for v in seen)


def test_a_run_cancelled_after_it_was_handed_over_is_left_alone(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    (handed,) = _stored(rt, recipe([echo("a")]), {"name": "x"})
    with rt.db.transaction() as session:
        session.execute(update(Run).where(Run.id == handed.run.id).values(status="cancelled"))
    Runner(rt).execute(handed.run.id, handed)  # its handed-over row still says queued
    run, steps = load(rt, handed.run.id)
    assert run.status == "cancelled" and steps == {} and kit.calls == []


def test_a_last_write_that_finds_the_run_taken_over_commits_nothing(
    kit_rt: tuple[Runtime, EngineKit],
) -> None:
    """The finishing write has no renew of its own: its release checks the lease, and a loss
    undoes the attempt's and the step's end with it."""
    rt, kit = kit_rt
    (handed,) = _stored(rt, recipe([echo("a")]), {"name": "x"})

    def taken_over(_inputs: Any) -> None:  # another worker takes the run while the vendor answers
        with rt.db.transaction() as session:
            session.execute(update(Run).where(Run.id == handed.run.id).values(lease_owner="other"))

    kit.during_call = taken_over
    Runner(rt).execute(handed.run.id, handed)
    run, steps = load(rt, handed.run.id)
    assert run.status == "running" and run.lease_owner == "other" and run.finished_at is None
    assert steps["a"].status == "running"
    with rt.db.read() as session:
        assert [a.status for a in session.scalars(select(StepAttempt))] == ["started"]


def test_a_webhook_hands_its_run_over_with_the_row_and_event(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, _kit = kit_rt
    handed: list[tuple[int, FreshRun | None]] = []

    class Recording:
        def submit(self, run_id: int, fresh: FreshRun | None = None) -> None:
            handed.append((run_id, fresh))

        def make_room(self) -> float:
            return 0.0

        def shutdown(self, wait: bool = True) -> None:
            return None

    rt.executor = Recording()
    with rt.db.transaction() as session:
        r = save_recipe(session, rt, recipe([echo("a")]))
        url = hook_urls(session, rt, r)["webhook_url"]
    client: FlaskClient = create_app(rt).test_client()
    answer = client.post(url.split(rt.settings.base_url, 1)[1], json={"name": "Ada"})
    assert answer.status_code == 202
    with rt.db.read() as session:
        run = session.scalars(select(Run)).one()
        stored_event = session.get(Event, run.event_id)
        assert stored_event is not None and session.scalars(select(StepRun)).all() == []
    assert len(handed) == 1 and handed[0][0] == run.id
    fresh = handed[0][1]
    assert fresh is not None and fresh.event == stored_event.payload and fresh.event["name"] == "Ada"
    assert fresh.size == len(b'{"name": "Ada"}')
    assert fresh.run.id == run.id and fresh.run.recipe_version == run.recipe_version
    assert fresh.run.status == "queued" and fresh.run.created_at == run.created_at
