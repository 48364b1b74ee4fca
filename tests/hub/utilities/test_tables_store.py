"""Lookup table storage on SQLite and PostgreSQL: 50,000 rows found by key and by any column through
the cell index, long cells matched exactly, replacement all-or-nothing, the template function."""

from __future__ import annotations

import pytest

from hub.connections import NotFound
from hub.runtime import Runtime
from hub.sdk.errors import RecipeError
from hub.services import InvalidInput
from hub.services import tables as service
from hub.utilities import tables
from hub.utilities.lookup import template_function

ROWS = 50_000


def test_fifty_thousand_rows_are_found_by_key_and_by_any_column(runtime: Runtime) -> None:
    service.create_table(runtime, actor="t", name="customers", columns=["id", "城市", "owner"], key="id")
    rows = [{"id": f"C{i:05d}", "城市": f"城市{i % 997}", "owner": f"u{i}@example.com"} for i in range(ROWS)]
    assert service.replace_rows(runtime, actor="t", name="customers", rows=rows).row_count == ROWS
    with runtime.db.read() as session:
        assert tables.by_key(session, "customers", "C49999") == rows[-1]
        assert tables.by_key(session, "customers", "C99999") is None
        assert tables.find(session, "customers", {"owner": "u49998@example.com"}) == rows[-2]
        # several rows match: the first in table order wins; two conditions narrow it down
        assert tables.find(session, "customers", {"城市": "城市5"}) == rows[5]
        assert (
            tables.find(session, "customers", {"城市": "城市5", "owner": "u1999@example.com"}) == rows[1999]
        )
        assert tables.find(session, "customers", {"城市": "城市5", "owner": "u6@example.com"}) is None
        assert sum(1 for _ in tables.read_rows(session, "customers", offset=49_990)) == 10
    lookup = template_function(runtime.db)
    assert lookup("customers", "C00042", "owner") == "u42@example.com"
    assert lookup("customers", "C00042") == rows[42]
    assert lookup("customers", "nope") is None and lookup("customers", None, "owner") is None


def test_long_cells_sharing_a_prefix_are_told_apart(runtime: Runtime) -> None:
    service.create_table(runtime, actor="t", name="notes", columns=["k", "text"], key="k")
    prefix = "长" * 250
    rows = [{"k": "a", "text": prefix + "甲"}, {"k": "b", "text": prefix + "乙"}, {"k": "c", "text": 7}]
    service.replace_rows(runtime, actor="t", name="notes", rows=rows)
    with runtime.db.read() as session:
        assert tables.find(session, "notes", {"text": prefix + "乙"}) == rows[1]
        assert tables.find(session, "notes", {"text": prefix}) is None
        assert tables.find(session, "notes", {"text": "7"}) == rows[2]  # compared as text
        with pytest.raises(InvalidInput, match="'nope' is not a column of table 'notes'"):
            tables.find(session, "notes", {"nope": 1})
        with pytest.raises(NotFound):
            tables.find(session, "missing", {"k": 1})


def test_a_failed_replacement_keeps_the_old_rows(runtime: Runtime) -> None:
    service.create_table(runtime, actor="t", name="codes", columns=["code", "label"], key="code")
    service.replace_rows(runtime, actor="t", name="codes", rows=[{"code": "A", "label": "甲"}])
    with pytest.raises(InvalidInput, match=r"\$.rows\[2\], column 'code': duplicate key 'B'"):
        service.replace_rows(
            runtime, actor="t", name="codes", rows=[{"code": "B"}, {"code": "C"}, {"code": "B"}]
        )
    with runtime.db.read() as session:
        assert list(tables.read_rows(session, "codes")) == [{"code": "A", "label": "甲"}]


def test_the_template_function_needs_a_table_that_exists(runtime: Runtime) -> None:
    lookup = template_function(runtime.db)
    with pytest.raises(RecipeError, match="lookup: no table named 'nope' in this project"):
        lookup("nope", "k")
    with pytest.raises(RecipeError, match="the first argument names a table"):
        lookup(None, "k")


def test_concurrent_replacements_take_turns_and_readers_never_see_a_mix(runtime: Runtime) -> None:
    import threading

    service.create_table(runtime, actor="t", name="gen", columns=["k", "gen"], key="k")
    failures: list[BaseException] = []
    stop = threading.Event()

    def write(writer: int) -> None:
        try:
            for round_ in range(4):
                size = 50 + 10 * writer + round_
                rows = [{"k": f"k{i}", "gen": f"{writer}-{round_}"} for i in range(size)]
                service.replace_rows(runtime, actor="t", name="gen", rows=rows)
        except BaseException as exc:  # reported below
            failures.append(exc)

    def read() -> None:
        while not stop.is_set():
            with runtime.db.read() as session:
                rows = list(tables.read_rows(session, "gen"))
            generations = {r["gen"] for r in rows}
            # one statement sees one replacement whole: one generation, all of its rows
            expected = [50 + 10 * int(g.split("-")[0]) + int(g.split("-")[1]) for g in generations]
            if len(generations) > 1 or (expected and len(rows) != expected[0]):
                failures.append(AssertionError(f"mixed rows: {generations}, {len(rows)} rows"))

    writers = [threading.Thread(target=write, args=(w,)) for w in range(2)]
    reader = threading.Thread(target=read)
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    reader.join()
    assert not failures, failures
    with runtime.db.read() as session:
        final = list(tables.read_rows(session, "gen"))
    assert len({r["gen"] for r in final}) == 1 and len(final) in (53, 63)


def test_a_database_pause_under_lookup_is_not_the_recipes_error() -> None:
    """A busy or unreachable database reaches the runner as itself (the run is handed back and
    retried), not as a template error that would fail the step for good."""
    import sqlite3
    from contextlib import contextmanager

    from hub import templating

    class PausedDatabase:
        @contextmanager
        def read(self):  # type: ignore[no-untyped-def]
            raise sqlite3.OperationalError("database is locked")
            yield

    context = {"event": {"k": "a"}, "lookup": template_function(PausedDatabase())}
    with pytest.raises(sqlite3.OperationalError):
        templating.render_value("{{ lookup('t', event.k) }}", context)
