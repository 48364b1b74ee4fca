"""Database ids as they arrive in URLs and query strings: whole numbers that fit a 64-bit column.

A larger number reaches the database driver as an OverflowError (a 500); bounding ids where they are
parsed turns it into "no such object" for a path and a named error for a query parameter.
"""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

MAX_ID = 2**63 - 1  # the largest value of a signed 64-bit BIGINT, PostgreSQL's and SQLite's integer


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: a number beyond MAX_ID names no object, so it answers 404.

    Raised here rather than left unmatched: an unmatched rule makes werkzeug answer 405 when the
    same path has rules for other methods."""

    def to_python(self, value: str) -> Any:
        number = super().to_python(value)
        if number > MAX_ID:
            raise NotFound()
        return number


def parse_id(text: str | None) -> int | None:
    """An id from free text (a query parameter, a form field); None unless it is 1..MAX_ID."""
    if text is None or not (text.isascii() and text.isdecimal()):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None
