"""assign.round_robin: order, weights, skips, member changes, restarts, repeats and bad input."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from hub.config import Settings
from hub.runtime import Runtime
from hub.sdk.errors import PermanentError
from hub.utilities.rotation import NobodyAvailable, Position, cycle, next_turn
from tests.hub.utilities.kit import call


def assign(rt: Any, members: list[Any], key: str | None = None, **extra: Any) -> dict[str, Any]:
    return call(rt, "assign", "round_robin", {"rotation": "sales", "members": members, **extra}, key=key)


def names(rt: Any, members: list[Any], times: int, **extra: Any) -> list[str]:
    return [assign(rt, members, **extra)["assignee"] for _ in range(times)]


def test_weighted_cycles_interleave_extra_turns() -> None:
    assert cycle(["a", "b", "c"], {}) == ["a", "b", "c"]
    assert cycle(["a", "b", "c"], {"a": 2}) == ["a", "b", "c", "a"]
    assert cycle(["a", "b"], {"a": 3}) == ["a", "a", "b", "a"]
    assert Counter(cycle(["a", "b", "c"], {"a": 5, "b": 3})) == {"a": 5, "b": 3, "c": 1}
    assert cycle(["a", "b"], {"a": 2, "b": 2}) == ["a", "b", "a", "b"]


def test_the_next_turn_follows_the_last_assignee_in_a_changed_list() -> None:
    last = Position("b", 1, 0)
    assert next_turn(["a", "b", "c"], last, set()).assignee == "c"
    assert next_turn(["a", "b", "d", "c"], last, set()).assignee == "d"  # added after b: their turn now
    assert next_turn(["a", "c"], last, set()).assignee == "c"  # b left: whoever holds b's place
    assert next_turn(["a", "c"], Position("c", 2, 0), set()).assignee == "a"
    assert next_turn(["a", "b", "c"], last, {"c"}).assignee == "a"
    with pytest.raises(NobodyAvailable, match="every member"):
        next_turn(["a", "b"], last, {"a", "b"})


def test_turns_go_in_order_and_report_index_and_count(runtime: Runtime) -> None:
    turns = [assign(runtime, ["ann", "bob", "cy"]) for _ in range(4)]
    assert turns == [
        {"assignee": "ann", "index": 0, "count": 1},
        {"assignee": "bob", "index": 1, "count": 2},
        {"assignee": "cy", "index": 2, "count": 3},
        {"assignee": "ann", "index": 0, "count": 4},
    ]


def test_object_members_come_back_as_given(runtime: Runtime) -> None:
    reps = [{"id": 7, "email": "ann@example.com"}, {"id": "bob", "email": "bob@example.com"}]
    assert assign(runtime, reps) == {"assignee": reps[0], "index": 0, "count": 1}
    assert assign(runtime, reps)["assignee"]["email"] == "bob@example.com"


def test_weights_give_extra_turns_per_cycle(runtime: Runtime) -> None:
    got = names(runtime, ["ann", "bob", "cy"], 8, weights={"ann": 2})
    assert got == ["ann", "bob", "cy", "ann"] * 2


def test_skipped_members_lose_that_turn(runtime: Runtime) -> None:
    assert names(runtime, ["ann", "bob", "cy"], 4, skip=["bob"]) == ["ann", "cy", "ann", "cy"]
    with pytest.raises(PermanentError, match="every member of the rotation is on the skip list"):
        assign(runtime, ["ann", "bob"], skip=["ann", "bob"])


def test_a_changed_member_list_continues_after_the_last_assigned(runtime: Runtime) -> None:
    assert names(runtime, ["ann", "bob", "cy"], 2) == ["ann", "bob"]
    assert names(runtime, ["ann", "bob", "dee", "cy"], 2) == ["dee", "cy"]
    assert names(runtime, ["ann", "cy"], 1) == ["ann"]
    assert names(runtime, ["bob", "cy"], 2) == ["bob", "cy"]  # ann left: her place passed to bob


def test_the_rotation_survives_a_restart(settings: Settings) -> None:
    first = Runtime.create(settings)
    try:
        assert names(first, ["ann", "bob", "cy"], 2) == ["ann", "bob"]
    finally:
        first.close()
    second = Runtime.create(settings)
    try:
        assert assign(second, ["ann", "bob", "cy"]) == {"assignee": "cy", "index": 2, "count": 3}
    finally:
        second.close()


def test_a_repeated_attempt_gets_the_same_turn(runtime: Runtime) -> None:
    first = assign(runtime, ["ann", "bob"], key="run1:assign")
    assign(runtime, ["ann", "bob"], key="run2:assign")
    assert assign(runtime, ["ann", "bob"], key="run1:assign") == first
    assert assign(runtime, ["ann", "bob"])["count"] == 3


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"members": ["a", "a"]}, "input.members[1]: id 'a' appears twice"),
        ({"members": [{"name": "x"}]}, "input.members[0]: must be a string or an object with an 'id'"),
        ({"members": ["a"], "weights": {"b": 2}}, "input.weights.b: is not the id of a member"),
        ({"members": ["a"], "weights": {"a": 0}}, "input.weights.a: must be a whole number from 1 to 100"),
        (
            {"members": [str(n) for n in range(20)], "weights": {str(n): 60 for n in range(20)}},
            "input.weights: give a cycle of 1200 turns; at most 1000 are allowed",
        ),
    ],
)
def test_bad_input_fails_permanently_naming_the_field(runtime: Runtime, inputs: Any, message: str) -> None:
    with pytest.raises(PermanentError) as caught:
        call(runtime, "assign", "round_robin", {"rotation": "r", **inputs})
    assert caught.value.message == message
