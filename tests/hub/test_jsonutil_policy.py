"""hub.jsonutil's policy: strict_loads takes only what can be stored, and dumps never writes text
SQLite or PostgreSQL would refuse (checked against the databases themselves)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, StatementError

from hub.db.models import Event
from hub.engine.intake import store_events
from hub.jsonutil import MAX_DEPTH, InvalidJSON, check_storable, dumps, loads, strict_loads, too_deep
from hub.recipe_store import save_recipe
from hub.runtime import Runtime
from hub.sdk.types import TriggerEvent


def deep(levels: int) -> Any:
    value: Any = {}
    for _ in range(levels):
        value = {"a": [value]}
    return value


UNSTORABLE = {
    "nan": [float("nan")],
    "infinity": {"x": float("-inf")},
    "decimal_nan": Decimal("NaN"),
    "lone_surrogate": {"name": "a\ud800b"},
    "surrogate_key": {"\udc00": 1},
    "nul": ["x\x00"],
    "nul_key": {"\x00": 1},
    "too_large": Decimal("1E+131072"),
    "too_precise": Decimal("1E-16384"),
    "too_deep": deep(MAX_DEPTH),
}


@pytest.mark.parametrize("case", UNSTORABLE, ids=list(UNSTORABLE))
def test_dumps_and_check_storable_refuse_unstorable_values(case: str) -> None:
    with pytest.raises(InvalidJSON):
        check_storable(UNSTORABLE[case])
    if case != "too_deep":  # deep but under Python's recursion limit: still writable, just not taken in
        with pytest.raises(InvalidJSON):
            dumps(UNSTORABLE[case])


def test_dumps_of_data_deeper_than_the_interpreter_can_recurse_is_a_clear_error() -> None:
    with pytest.raises(InvalidJSON, match="nesting is too deep"):
        dumps(deep(100_000))


def test_storable_edge_values_pass_and_round_trip() -> None:
    value = {
        "escaped_text": "\\u0000 and \\ud800 are only text here",
        "emoji": "😀",
        "amount": Decimal("12345678901234567.89"),
        "big": Decimal("1E+131071"),
        "tiny": Decimal("1E-16383"),
        "nested": deep(MAX_DEPTH // 2 - 1),
    }
    check_storable(value)
    assert strict_loads(dumps(value)) == value


def test_too_deep_ignores_brackets_inside_strings_and_escaped_quotes() -> None:
    assert not too_deep(json.dumps(["[" * 1000, '\\"' + "{" * 1000]), 3)
    assert too_deep("[[[[", 3) and not too_deep("[[[]]]", 3)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200) | st.text(max_size=200))
def test_strict_loads_raises_nothing_but_invalid_json(data: bytes | str) -> None:
    try:
        value = strict_loads(data)
    except InvalidJSON:
        return
    check_storable(value)
    assert loads(dumps(value)) == value


@settings(max_examples=100, deadline=None)
@given(levels=st.integers(min_value=0, max_value=3000), opener=st.sampled_from(["[", '{"k":']))
def test_any_nesting_is_taken_up_to_the_bound_and_refused_past_it(levels: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    body = opener * levels + "1" + closer * levels
    if levels <= MAX_DEPTH:
        assert strict_loads(body) is not None
    else:
        with pytest.raises(InvalidJSON, match=f"nesting deeper than {MAX_DEPTH}"):
            strict_loads(body)


# -- against the databases -----------------------------------------------------------------------

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.decimals(allow_nan=True, places=None),
    st.text(alphabet=st.characters(max_codepoint=0xDFFF, exclude_categories=()), max_size=6),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.text(alphabet=st.characters(exclude_categories=()), max_size=3), inner, max_size=3
        )
    ),
    max_leaves=10,
)


def recipe_id(rt: Runtime) -> int:
    doc = {"name": "r", "trigger": {"connector": "webhook", "trigger": "catch", "config": {}}, "steps": []}
    with rt.db.transaction() as session:
        return save_recipe(session, rt, doc).id


def store(rt: Runtime, rid: int, data: Any) -> Any:
    with rt.db.transaction() as session:
        stored = store_events(
            session, recipe_id=rid, recipe_version=1, source="test", events=[TriggerEvent(data={"v": data})]
        )
    with rt.db.transaction() as session:
        return session.scalar(select(Event.payload).where(Event.id == stored[0].event_id))["v"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=json_values)
def test_what_check_storable_passes_the_database_stores_and_what_it_refuses_is_never_written(
    runtime: Runtime, data: Any
) -> None:
    rid = recipe_id(runtime)
    try:
        check_storable(data)
    except InvalidJSON:
        with pytest.raises((InvalidJSON, StatementError)) as caught:  # refused before the database
            store(runtime, rid, data)
        refused = caught.value.orig if isinstance(caught.value, StatementError) else caught.value
        assert isinstance(refused, InvalidJSON)
        return
    assert store(runtime, rid, data) == loads(dumps(data))


@pytest.mark.parametrize("raw", ['"\\u0000"', '{"\\u0000": 1}', '"\\ud800"', "1e131072", "1e-16384"], ids=str)
def test_postgresql_jsonb_refuses_what_the_policy_refuses(runtime: Runtime, raw: str) -> None:
    """The premise of the policy, checked on the real database: jsonb refuses these texts."""
    if runtime.db.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL fact")
    with pytest.raises(DBAPIError), runtime.db.engine.connect() as conn:
        conn.execute(text("SELECT CAST(:raw AS jsonb)"), {"raw": raw})
    with pytest.raises(InvalidJSON):
        strict_loads(raw)
