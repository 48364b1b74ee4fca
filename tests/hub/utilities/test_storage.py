"""The storage utility's actions on SQLite and PostgreSQL: values, scopes, TTL, limits and errors."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from hub.db.models import StorageEntry, UtilityWrite, utcnow
from hub.runtime import Runtime
from hub.sdk.errors import PermanentError
from hub.utilities import store
from tests.hub.utilities.kit import call


def storage(rt: Runtime, action: str, recipe_id: int | None = 1, **inputs):
    """One call, a new attempt each time; `inputs` are the action's (`key` is the storage key)."""
    return call(rt, "storage", action, inputs, recipe_id=recipe_id)


def test_set_get_delete_round_trip_any_json(runtime: Runtime) -> None:
    value = {"stage": "won", "amount": Decimal("12345678901234567.89"), "tags": ["a", None, True]}
    assert storage(runtime, "get", key="deal:1", default="none") == {"value": "none", "found": False}
    assert storage(runtime, "set", key="deal:1", value=value) == {"value": value}
    assert storage(runtime, "get", key="deal:1") == {"value": value, "found": True}
    assert storage(runtime, "set", key="n", value=Decimal("0.10"))["value"] == Decimal("0.1")
    assert storage(runtime, "get", key="n")["value"] == Decimal("0.1")
    assert storage(runtime, "set", key="nothing", value=None) == {"value": None}
    assert storage(runtime, "get", key="nothing", default=5) == {"value": None, "found": True}
    assert storage(runtime, "delete", key="deal:1") == {"deleted": True}
    assert storage(runtime, "delete", key="deal:1") == {"deleted": False}
    assert storage(runtime, "get", key="deal:1")["found"] is False


def test_recipe_scope_is_per_recipe_and_global_is_shared(runtime: Runtime) -> None:
    storage(runtime, "set", recipe_id=1, key="k", value="one")
    storage(runtime, "set", recipe_id=2, key="k", value="two")
    storage(runtime, "set", recipe_id=1, key="k", value="shared", scope="global")
    assert storage(runtime, "get", recipe_id=1, key="k")["value"] == "one"
    assert storage(runtime, "get", recipe_id=2, key="k")["value"] == "two"
    assert storage(runtime, "get", recipe_id=2, key="k", scope="global")["value"] == "shared"
    with pytest.raises(PermanentError, match=r"input.scope: 'recipe' needs a recipe"):
        storage(runtime, "get", recipe_id=None, key="k")
    assert storage(runtime, "get", recipe_id=None, key="k", scope="global")["value"] == "shared"


def test_increment_counts_from_zero_adds_decimals_and_refuses_non_numbers(runtime: Runtime) -> None:
    assert storage(runtime, "increment", key="c") == {"value": 1}
    assert storage(runtime, "increment", key="c", by=41) == {"value": 42}
    assert storage(runtime, "increment", key="c", by=-2) == {"value": 40}
    assert type(storage(runtime, "get", key="c")["value"]) is int  # whole numbers stay integers
    assert storage(runtime, "increment", key="total", by=Decimal("0.1"))["value"] == Decimal("0.1")
    assert storage(runtime, "increment", key="total", by=Decimal("0.2"))["value"] == Decimal("0.3")
    storage(runtime, "set", key="s", value="text")
    with pytest.raises(PermanentError, match="storage key 's' holds a string, not a number"):
        storage(runtime, "increment", key="s")
    assert storage(runtime, "get", key="s")["value"] == "text"


def test_compare_and_set_swaps_only_on_the_expected_value(runtime: Runtime) -> None:
    assert storage(runtime, "compare_and_set", key="st", value="new") == {"swapped": True, "previous": None}
    assert storage(runtime, "compare_and_set", key="st", value="x") == {"swapped": False, "previous": "new"}
    assert storage(runtime, "compare_and_set", key="st", expected="new", value="won") == {
        "swapped": True,
        "previous": "new",
    }
    assert storage(runtime, "compare_and_set", key="st", expected="new", value="lost") == {
        "swapped": False,
        "previous": "won",
    }
    # JSON equality: key order and 1 == 1.0 do not matter, on either database
    storage(runtime, "set", key="obj", value={"b": 1, "a": [1, 2]})
    result = storage(
        runtime, "compare_and_set", key="obj", expected={"a": [1, 2], "b": Decimal("1.0")}, value=2
    )
    assert result == {"swapped": True, "previous": {"a": [1, 2], "b": Decimal("1.0")}}
    assert storage(runtime, "get", key="obj")["value"] == 2


def test_append_starts_extends_trims_and_refuses_non_lists(runtime: Runtime) -> None:
    assert storage(runtime, "append", key="log", value={"id": 1}) == {"length": 1}
    assert storage(runtime, "append", key="log", value="two") == {"length": 2}
    assert storage(runtime, "append", key="log", value=3, max_length=2) == {"length": 2}
    assert storage(runtime, "get", key="log")["value"] == ["two", 3]
    storage(runtime, "set", key="n", value=5)
    with pytest.raises(PermanentError, match="storage key 'n' holds a number, not a list"):
        storage(runtime, "append", key="n", value=1)


def test_expired_keys_read_as_absent_restart_and_are_purged(runtime: Runtime) -> None:
    storage(runtime, "set", key="temp", value=7, ttl_s=60)
    storage(runtime, "set", key="list", value=[1], ttl_s=60)
    assert storage(runtime, "get", key="temp")["found"] is True
    with runtime.db.transaction() as session:  # an hour passes
        for entry in session.scalars(select(StorageEntry)):
            entry.expires_at = utcnow() - timedelta(seconds=1)
    assert storage(runtime, "get", key="temp", default=0) == {"value": 0, "found": False}
    assert storage(runtime, "delete", key="temp") == {"deleted": False}
    storage(runtime, "set", key="temp", value=7, ttl_s=60)
    with runtime.db.transaction() as session:
        session.get(StorageEntry, ("recipe:1", "temp")).expires_at = utcnow() - timedelta(seconds=1)
    assert storage(runtime, "increment", key="temp") == {"value": 1}  # counts from 0, no longer expiring
    assert storage(runtime, "append", key="list", value=2) == {"length": 1}
    storage(runtime, "set", key="gone", value=1, ttl_s=60)
    with runtime.db.transaction() as session:
        session.get(StorageEntry, ("recipe:1", "gone")).expires_at = utcnow() - timedelta(seconds=1)
        session.add(UtilityWrite(write_key="old", output={}, created_at=utcnow() - timedelta(days=8)))
    assert runtime.db.write(store.purge) == 1
    with runtime.db.read() as session:
        assert session.get(StorageEntry, ("recipe:1", "gone")) is None
        assert session.get(UtilityWrite, "old") is None
        assert session.scalar(select(func.count()).select_from(UtilityWrite)) > 0


def test_an_increment_keeps_a_live_keys_expiry_and_set_replaces_it(runtime: Runtime) -> None:
    storage(runtime, "set", key="k", value=1, ttl_s=60)
    storage(runtime, "increment", key="k")
    with runtime.db.read() as session:
        assert session.get(StorageEntry, ("recipe:1", "k")).expires_at is not None
    storage(runtime, "set", key="k", value=1)
    with runtime.db.read() as session:
        assert session.get(StorageEntry, ("recipe:1", "k")).expires_at is None


@pytest.mark.parametrize(
    ("action", "inputs", "message"),
    [
        ("get", {"key": "k" * 201}, "input.key: is 201 characters long; at most 200"),
        ("set", {"key": "", "value": 1}, "input.key: must be a non-empty string"),
        ("set", {"key": "a\nb", "value": 1}, "input.key: must not contain control characters"),
        ("set", {"key": "big", "value": "x" * 70000}, "input.value: is 70002 bytes of JSON; at most 65536"),
        ("append", {"key": "big", "value": "x" * 65540}, "input.value: is 65542 bytes"),
        ("set", {"key": "k", "value": "a\x00b"}, "input.value: is not storable JSON"),
        ("get", {"key": "k", "scope": "team"}, "input.scope: must be one of recipe, global"),
    ],
)
def test_bad_input_fails_permanently_naming_the_field(runtime: Runtime, action, inputs, message) -> None:
    with pytest.raises(PermanentError) as caught:
        call(runtime, "storage", action, inputs)
    assert message in caught.value.message


def test_a_list_grown_past_64_kib_by_append_is_refused_unchanged(runtime: Runtime) -> None:
    storage(runtime, "set", key="big", value=["x" * 40000])
    with pytest.raises(PermanentError, match=r"input.value \(the list at 'big' would exceed 65536 bytes\)"):
        storage(runtime, "append", key="big", value="y" * 30000)
    assert storage(runtime, "get", key="big")["value"] == ["x" * 40000]


def test_a_repeated_attempt_applies_its_write_once(runtime: Runtime) -> None:
    """The engine repeats an attempt whose outcome is unknown with the same idempotency key; other
    runs may write the key in between. The repeat must answer the first outcome, not count again."""
    first = call(runtime, "storage", "increment", {"key": "c"}, key="run1:count")
    call(runtime, "storage", "increment", {"key": "c"}, key="run2:count")  # another run, in between
    again = call(runtime, "storage", "increment", {"key": "c"}, key="run1:count")
    assert first == again == {"value": 1}
    assert storage(runtime, "get", key="c")["value"] == 2
    swap = {"key": "st", "expected": None, "value": "won"}
    assert call(runtime, "storage", "compare_and_set", swap, key="run3:cas")["swapped"] is True
    assert call(runtime, "storage", "compare_and_set", swap, key="run3:cas")["swapped"] is True
    append = {"key": "l", "value": 1}
    call(runtime, "storage", "append", append, key="run4:a")
    assert call(runtime, "storage", "append", append, key="run4:a") == {"length": 1}
    # one attempt writing two keys (a for_each's items share nothing, but a recipe may) records each
    assert call(runtime, "storage", "increment", {"key": "other"}, key="run1:count") == {"value": 1}


def test_the_actions_are_marked_repeat_safe_and_described_as_a_utility(runtime: Runtime) -> None:
    connector = runtime.registry.get("storage")
    assert connector is not None and not connector.needs_connection()
    assert connector.category == "utility"
    assert sorted(connector.action_map) == sorted(
        ["get", "set", "delete", "increment", "compare_and_set", "append"]
    )
    assert all(action.repeat_safe for action in connector.action_map.values())
