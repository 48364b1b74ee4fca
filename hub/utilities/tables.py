"""Lookup tables in the hub's database: definitions, whole-table row replacement, and indexed reads.

Storage design: each row is kept whole as JSON (`lookup_rows`, unique on (table, key)), and every
cell's text is also written to `lookup_values`, whose primary key (table, column, value, position)
is the index a `where` on any column searches. Rows as JSON keep reads of a row to one indexed
fetch on both SQLite and PostgreSQL without a column per table (tables are created at run time, so
real columns would mean DDL from the API); the cell index makes `where` on any column an index
range scan instead of a scan of 50,000 JSON documents, which JSON-path indexes cannot do portably.
Indexed text is cut to 200 characters, so every match is checked again against the row itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, exists, insert, select
from sqlalchemy.orm import Session, aliased

from hub.access import DEFAULT_PROJECT_ID
from hub.connections import Conflict, NotFound
from hub.db.models import LookupRow, LookupTable, LookupValue, utcnow
from hub.services import InvalidInput

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_COLUMNS = 100
MAX_COLUMN_NAME = 100
MAX_ROWS = 200_000
MAX_CELL_CHARS = 10_000
MAX_KEY_CHARS = 200
INDEXED_CHARS = 200  # the width of lookup_values.value
BATCH = 2_000  # rows per INSERT: SQLite allows 32,766 bound parameters per statement

Cell = str | int | float | Decimal | bool | None


@dataclass(frozen=True)
class TableInfo:
    name: str
    columns: list[str]
    key: str
    row_count: int
    created_at: Any
    updated_at: Any
    project_id: int

    def view(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "columns": self.columns,
            "key": self.key,
            "row_count": self.row_count,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "project_id": self.project_id,
        }


def _info(table: LookupTable) -> TableInfo:
    return TableInfo(
        table.name,
        list(table.columns),
        table.key_column,
        table.row_count,
        table.created_at,
        table.updated_at,
        table.project_id,
    )


def cell_text(value: Any) -> str | None:
    """How a cell (or a `where` value) is compared: as text, so 42 matches '42'; null matches nothing."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- definitions ---------------------------------------------------------------------------------------


def check_definition(name: Any, columns: Any, key: Any) -> tuple[str, list[str], str]:
    """A table's name, columns and key column, or InvalidInput naming the field."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise InvalidInput(
            "$.name: a table name is 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit",
            path="$.name",
        )
    if not isinstance(columns, list) or not columns:
        raise InvalidInput("$.columns: give a non-empty list of column names", path="$.columns")
    if len(columns) > MAX_COLUMNS:
        raise InvalidInput(f"$.columns: at most {MAX_COLUMNS} columns", path="$.columns")
    seen: set[str] = set()
    for index, column in enumerate(columns):
        path = f"$.columns[{index}]"
        if not isinstance(column, str) or not column.strip() or column != column.strip():
            raise InvalidInput(f"{path}: a column name is non-empty text without outer spaces", path=path)
        if len(column) > MAX_COLUMN_NAME:
            raise InvalidInput(f"{path}: a column name is at most {MAX_COLUMN_NAME} characters", path=path)
        if column in seen:
            raise InvalidInput(f"{path}: column '{column}' is listed twice", path=path)
        seen.add(column)
    if not isinstance(key, str) or key not in seen:
        raise InvalidInput("$.key: the key must be one of the columns", path="$.key")
    return name, list(columns), key


def create(
    session: Session, name: str, columns: list[str], key: str, project_id: int = DEFAULT_PROJECT_ID
) -> TableInfo:
    """A new table in `project_id`; names are unique across the hub, so a name names one table."""
    if session.scalar(select(LookupTable.id).where(LookupTable.name == name)) is not None:
        raise Conflict(f"table '{name}' already exists")
    table = LookupTable(name=name, columns=columns, key_column=key, row_count=0, project_id=project_id)
    session.add(table)
    session.flush()
    return _info(table)


def _table(session: Session, name: str, *, lock: bool = False, project_id: int | None = None) -> LookupTable:
    """The table named `name`; with `project_id`, only one of that project (another project's table
    reads as absent, so a recipe learns nothing of what other teams keep)."""
    query = select(LookupTable).where(LookupTable.name == name)
    if project_id is not None:
        query = query.where(LookupTable.project_id == project_id)
    table = session.scalar(query.with_for_update() if lock else query)
    if table is None:
        raise NotFound(
            f"no table named '{name}' in this project"
            if project_id is not None
            else f"table '{name}' not found"
        )
    return table


def get(session: Session, name: str, project_id: int | None = None) -> TableInfo:
    return _info(_table(session, name, project_id=project_id))


def list_all(session: Session, projects: Iterable[int] | None = None) -> list[TableInfo]:
    """The tables of `projects` (None: every table), by name."""
    query = select(LookupTable).order_by(LookupTable.name)
    if projects is not None:
        query = query.where(LookupTable.project_id.in_(sorted(projects)))
    return [_info(t) for t in session.scalars(query)]


def drop(session: Session, name: str) -> TableInfo:
    table = _table(session, name, lock=True)
    info = _info(table)
    session.execute(delete(LookupValue).where(LookupValue.table_id == table.id))
    session.execute(delete(LookupRow).where(LookupRow.table_id == table.id))
    session.delete(table)
    return info


# -- rows ------------------------------------------------------------------------------------------------


def check_rows(
    columns: Sequence[str], key: str, rows: Any, places: Sequence[str] | None = None
) -> list[dict[str, Cell]]:
    """Rows as complete dicts of the table's columns, or InvalidInput naming the row and column.

    `places[i]` names row i for messages (a CSV line); JSON rows are named by their `$.rows[i]` path."""
    if not isinstance(rows, list):
        raise InvalidInput("$.rows: give a list of row objects", path="$.rows")
    if len(rows) > MAX_ROWS:
        raise InvalidInput(f"$.rows: at most {MAX_ROWS} rows per table (got {len(rows)})", path="$.rows")
    known = set(columns)
    keys: dict[str, str] = {}
    checked: list[dict[str, Cell]] = []
    for index, row in enumerate(rows):
        place = places[index] if places else f"$.rows[{index}]"
        if not isinstance(row, Mapping):
            raise InvalidInput(f"{place}: a row must be an object of column: value", path=place)
        extra = [c for c in row if c not in known]
        if extra:
            raise InvalidInput(f"{place}: '{extra[0]}' is not a column of this table", path=place)
        values: dict[str, Cell] = {}
        for column in columns:
            value = row.get(column)
            cell = f"{place}, column '{column}'"
            if value is not None and not isinstance(value, str | int | float | Decimal | bool):
                raise InvalidInput(f"{cell}: a cell holds text, a number, true/false or null", path=place)
            if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                raise InvalidInput(f"{cell}: a cell holds at most {MAX_CELL_CHARS} characters", path=place)
            values[column] = value
        key_text = cell_text(values[key])
        if key_text is None or key_text == "":
            raise InvalidInput(f"{place}, column '{key}': the key column needs a value", path=place)
        if len(key_text) > MAX_KEY_CHARS:
            raise InvalidInput(
                f"{place}, column '{key}': a key is at most {MAX_KEY_CHARS} characters", path=place
            )
        if key_text in keys:
            raise InvalidInput(
                f"{place}, column '{key}': duplicate key {key_text!r} (first in {keys[key_text]})", path=place
            )
        keys[key_text] = place
        checked.append(values)
    return checked


def replace_rows(session: Session, name: str, rows: list[dict[str, Cell]]) -> TableInfo:
    """Replace every row in one transaction: readers see the old rows or the new, never a mix. The
    table row is locked first, so two replacements of one table (PostgreSQL) take turns."""
    table = _table(session, name, lock=True)
    session.execute(delete(LookupValue).where(LookupValue.table_id == table.id))
    session.execute(delete(LookupRow).where(LookupRow.table_id == table.id))
    for start in range(0, len(rows), BATCH):
        chunk = list(enumerate(rows[start : start + BATCH], start))
        session.execute(
            insert(LookupRow),
            [
                {"table_id": table.id, "position": i, "key": cell_text(row[table.key_column]), "data": row}
                for i, row in chunk
            ],
        )
        cells = [
            {"table_id": table.id, "column_name": column, "value": text[:INDEXED_CHARS], "position": i}
            for i, row in chunk
            for column, value in row.items()
            if (text := cell_text(value)) is not None
        ]
        for part in range(0, len(cells), BATCH * 4):
            session.execute(insert(LookupValue), cells[part : part + BATCH * 4])
    table.row_count = len(rows)
    table.updated_at = utcnow()
    return _info(table)


def read_rows(
    session: Session, name: str, offset: int = 0, limit: int | None = None
) -> Iterator[dict[str, Any]]:
    table = _table(session, name)
    query = select(LookupRow.data).where(LookupRow.table_id == table.id).order_by(LookupRow.position)
    query = query.offset(offset) if offset else query
    for data in session.scalars(query.limit(limit) if limit is not None else query):
        yield {column: data.get(column) for column in table.columns}


def by_key(session: Session, name: str, key: Any, project_id: int | None = None) -> dict[str, Any] | None:
    """The row whose key column holds `key` (compared as text), or None; NotFound when there is no
    such table (in `project_id`, when given)."""
    text = cell_text(key)
    if text is None:
        return None
    table = _table(session, name, project_id=project_id)
    return session.scalar(select(LookupRow.data).where(LookupRow.table_id == table.id, LookupRow.key == text))


def find(
    session: Session, name: str, where: Mapping[str, Any], project_id: int | None = None
) -> dict[str, Any] | None:
    """The first row (in table order) whose cells equal every `where` value as text, or None.

    The cell index's primary key finds the rows; they are checked exactly, since the index keeps
    only the first 200 characters of a cell."""
    table = _table(session, name, project_id=project_id)
    wanted: dict[str, str] = {}
    for column, value in where.items():
        if column not in table.columns:
            raise InvalidInput(
                f"where: '{column}' is not a column of table '{name}'", path=f"$.where.{column}"
            )
        text = cell_text(value)
        if text is None or isinstance(value, dict | list):
            raise InvalidInput(
                f"where.{column}: compare with text or a number, not null", path=f"$.where.{column}"
            )
        wanted[column] = text
    # The first condition drives the search through the index; the others are checked per row found.
    (first, first_text), *others = wanted.items()
    query = (
        select(LookupRow.data)
        .join(
            LookupValue,
            (LookupValue.table_id == LookupRow.table_id) & (LookupValue.position == LookupRow.position),
        )
        .where(
            LookupValue.table_id == table.id,
            LookupValue.column_name == first,
            LookupValue.value == first_text[:INDEXED_CHARS],
        )
    )
    for column, text in others:
        other = aliased(LookupValue)
        query = query.where(
            exists().where(
                other.table_id == table.id,
                other.column_name == column,
                other.value == text[:INDEXED_CHARS],
                other.position == LookupRow.position,
            )
        )
    query = query.order_by(LookupValue.position)
    exact = all(len(text) < INDEXED_CHARS for text in wanted.values())
    for data in session.scalars(query.limit(1) if exact else query):
        if all(cell_text(data.get(column)) == text for column, text in wanted.items()):
            return data
    return None
