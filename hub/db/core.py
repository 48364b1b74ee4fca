"""Typed doorways to SQLAlchemy Core for the statements the engine prebuilds or runs by hand.

SQLAlchemy types a model's `__table__` as a generic FromClause and `Session.execute` as a plain
Result, though a declarative model always maps a Table and an UPDATE or DELETE always answers a
CursorResult. These two functions say so once, instead of a cast at every statement.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result, Table

from hub.db.models import Base


def table(model: type[Base]) -> Table:
    """The Core table a declarative model maps."""
    return cast(Table, model.__table__)


def affected(result: Result[Any]) -> int:
    """How many rows an executed UPDATE or DELETE changed."""
    return cast("CursorResult[Any]", result).rowcount
