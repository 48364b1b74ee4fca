"""QuickBooks query language literals: a string in single quotes, its quotes and backslashes escaped."""

from __future__ import annotations


def literal(value: str) -> str:
    """'O\\'Brien & Co' for O'Brien & Co: a backslash before every backslash and single quote."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
