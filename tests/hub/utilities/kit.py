"""Calling the utilities as the engine does: a Context with the hub's Runtime, recipe and attempt key."""

from __future__ import annotations

import uuid
from typing import Any

from hub.registry import default_registry
from hub.sdk.context import Context


def call(
    hub: Any,
    connector: str,
    action: str,
    inputs: dict[str, Any],
    *,
    recipe_id: int | None = 1,
    key: str | None = None,
) -> dict[str, Any]:
    """One action call; each call is a new attempt (its own idempotency key) unless `key` is given."""
    found = default_registry().get(connector)
    assert found is not None
    ctx = Context(
        connector=found,
        hub=hub,
        recipe_id=recipe_id,
        idempotency_key=key or f"{uuid.uuid4().hex}:step",
    )
    performer = found.action(action)
    assert performer is not None
    return performer.perform(ctx, inputs)


def hammer(url: str, start: Any, calls: int, threads: int, out: Any) -> None:
    """In a separate process: `threads` threads each make `calls` increments and round-robin turns
    on the shared database once `start` is set; puts (values, assignees) on `out`."""
    import threading
    from types import SimpleNamespace

    from hub.db.session import Database

    hub = SimpleNamespace(db=Database(url))
    values: list[Any] = []
    assignees: list[str] = []
    start.wait()

    def work() -> None:
        for _ in range(calls):
            values.append(call(hub, "storage", "increment", {"key": "hits", "scope": "global"})["value"])
            members = ["ann", "bob", "cy", "dee", "eve"]
            turn = call(hub, "assign", "round_robin", {"rotation": "reps", "members": members})
            assignees.append(turn["assignee"])

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    hub.db.dispose()
    out.put((values, assignees))
