"""Lookup table rows to and from CSV: a header row naming the columns, UTF-8 with or without a BOM
(Excel writes one), any order of columns; errors name the line and column."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from hub.services import InvalidInput
from hub.utilities.tables import MAX_ROWS


def decode(raw: bytes) -> str:
    """UTF-8 text (a leading BOM dropped), or InvalidInput naming the line of the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"CSV line {line}: not UTF-8 text (save the file as 'CSV UTF-8'; GBK is not read)", path="$"
        ) from None


def header(text: str) -> list[str]:
    """The header row's column names (for creating a table from a CSV)."""
    first = next(csv.reader(io.StringIO(text)), None)
    if not first:
        raise InvalidInput("CSV line 1: the header row naming the columns is missing", path="$")
    return [name.strip() for name in first]


def parse(text: str, columns: Sequence[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """(rows, where each row came from) from CSV text whose header names the table's columns."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        names = [name.strip() for name in next(reader)]
    except StopIteration:
        raise InvalidInput("CSV line 1: the header row naming the columns is missing", path="$") from None
    known = set(columns)
    for position, name in enumerate(names, 1):
        if name not in known:
            raise InvalidInput(
                f"CSV line 1, field {position}: '{name}' is not a column of this table", path="$"
            )
        if names.count(name) > 1:
            raise InvalidInput(f"CSV line 1: column '{name}' appears twice in the header", path="$")
    missing = [c for c in columns if c not in names]
    if missing:
        raise InvalidInput(f"CSV line 1: the header lacks column '{missing[0]}'", path="$")
    rows: list[dict[str, Any]] = []
    places: list[str] = []
    try:
        for fields in reader:
            if not any(field.strip() for field in fields):
                continue  # blank lines (a trailing newline, spreadsheet padding)
            place = f"CSV line {reader.line_num}"
            if len(fields) != len(names):
                raise InvalidInput(
                    f"{place}: {len(fields)} fields, but the header names {len(names)} columns", path="$"
                )
            if len(rows) >= MAX_ROWS:
                raise InvalidInput(f"{place}: at most {MAX_ROWS} rows per table", path="$")
            rows.append(dict(zip(names, fields, strict=True)))
            places.append(place)
    except csv.Error as exc:
        raise InvalidInput(f"CSV line {reader.line_num}: {exc}", path="$") from None
    return rows, places


def write(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    """CSV text with a header row; null cells are empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else _text(row.get(c)) for c in columns])
    return out.getvalue()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
