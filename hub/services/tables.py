"""Lookup table operations for the API, the web UI and the CLI: each validated, stored and audited."""

from __future__ import annotations

from typing import Any

from hub.access import DEFAULT_PROJECT_ID
from hub.audit import audit
from hub.runtime import Runtime
from hub.utilities import table_csv, tables
from hub.utilities.tables import TableInfo


def create_table(
    rt: Runtime, *, actor: str, name: Any, columns: Any, key: Any, project_id: int = DEFAULT_PROJECT_ID
) -> TableInfo:
    name, columns, key = tables.check_definition(name, columns, key)
    with rt.db.transaction() as session:
        info = tables.create(session, name, columns, key, project_id)
        audit(session, actor, "table.create", "table", name, {"columns": columns, "key": key})
    return info


def delete_table(rt: Runtime, *, actor: str, name: str) -> None:
    with rt.db.transaction() as session:
        info = tables.get(session, name)  # audited first, while the entry can still find the project
        audit(session, actor, "table.delete", "table", name, {"rows": info.row_count})
        tables.drop(session, name)


def replace_rows(
    rt: Runtime, *, actor: str, name: str, rows: Any, places: list[str] | None = None
) -> TableInfo:
    """Check every row against the table, then replace all rows at once (nothing changes on error)."""
    with rt.db.transaction() as session:
        info = tables.get(session, name)
        checked = tables.check_rows(info.columns, info.key, rows, places)
        info = tables.replace_rows(session, name, checked)
        audit(session, actor, "table.rows_replace", "table", name, {"rows": len(checked)})
    return info


def replace_rows_csv(rt: Runtime, *, actor: str, name: str, raw: bytes) -> TableInfo:
    with rt.db.read() as session:
        info = tables.get(session, name)
    rows, places = table_csv.parse(table_csv.decode(raw), info.columns)
    return replace_rows(rt, actor=actor, name=name, rows=rows, places=places)
