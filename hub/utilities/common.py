"""What every database-backed utility action needs: the hub's database, and errors as step errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hub.db.session import Database
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.utilities.values import InvalidValue


def database(ctx: Context) -> Database:
    """The hub's database, handed over by the engine as `ctx.hub` (the Runtime)."""
    if ctx.hub is None:
        raise PermanentError(f"the {ctx.connector.id} utility runs only inside the hub (no Runtime given)")
    db: Database = ctx.hub.db
    return db


@contextmanager
def step_errors(*kinds: type[Exception]) -> Iterator[None]:
    """Bad input (InvalidValue, naming its field) and `kinds` become permanent step errors: trying the
    same input again cannot succeed."""
    try:
        yield
    except InvalidValue as exc:
        raise PermanentError(f"input.{exc}") from None
    except kinds as exc:
        raise PermanentError(str(exc)) from None
