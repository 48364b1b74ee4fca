"""Named secrets: values sealed in the vault, bound to their name, read only while a run renders them.

`SecretsView` is what templates see as `secrets`: `{{ secrets.NAME }}` opens one secret on first
use and adds its value to the run's redaction list before the value can reach anything stored, so
run records, attempts, errors and logs show `[REDACTED]` in its place. It has no public attribute or
method and cannot be iterated or printed, so a template can neither list names nor dump values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models import NamedSecret
from hub.sdk.errors import RecipeError
from hub.vault import Binding, Vault

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
MAX_VALUE_CHARS = 64 * 1024


def binding(name: str) -> Binding:
    return Binding("named_secrets", name, "value")


def seal(vault: Vault, name: str, value: str) -> str:
    return vault.encrypt({"v": value}, binding(name))


def open_value(vault: Vault, row: NamedSecret) -> str:
    return str(vault.decrypt(row.value, binding(row.name))["v"])


def rotate_all(session: Session, vault: Vault, *, legacy_only: bool = False) -> int:
    """Re-seal every named secret under the newest key (`hub vault rotate`); returns how many."""
    count = 0
    for row in session.scalars(select(NamedSecret)):
        if legacy_only and vault.is_current(row.value):
            continue
        row.value = vault.rotate_token(row.value, binding(row.name))
        count += 1
    return count


class UnknownSecret(RecipeError):
    """A template named a secret that does not exist."""

    code = "unknown_secret"


class SecretsView:
    """`secrets` in a run's templates: opens a secret by name on first use and reports its value
    to `remember` (the run's redaction list) before handing it to the template."""

    __slots__ = ("_cache", "_load", "_remember")

    def __init__(self, load: Callable[[str], str | None], remember: Callable[[str], None]) -> None:
        self._load = load
        self._remember = remember
        self._cache: dict[str, str] = {}

    def __getitem__(self, name: Any) -> str:
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise UnknownSecret(f"secrets: {name!r} is not a secret name")
        if name not in self._cache:
            value = self._load(name)
            if value is None:
                raise UnknownSecret(f"secrets: no secret named '{name}' (an admin sets it under Secrets)")
            self._remember(value)
            self._cache[name] = value
        return self._cache[name]

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def _refuse(self, *args: Any) -> NoReturn:
        raise RecipeError("secrets: name one secret, e.g. {{ secrets.API_KEY }}; they cannot be listed")

    __iter__ = __str__ = __len__ = __bool__ = _refuse

    def __repr__(self) -> str:
        return "<secrets>"


def refuse_outside_inputs(name: str) -> str | None:
    """The loader of `secrets` outside action inputs (filters, conditions, waits, delays)."""
    raise RecipeError(f"secrets.{name}: named secrets can be used in action inputs only")


def loader(db: Any, vault: Vault) -> Callable[[str], str | None]:
    """Reads one named secret's value from the database (None when there is none by that name)."""

    def load(name: str) -> str | None:
        with db.read() as session:
            row = session.get(NamedSecret, name)
            return open_value(vault, row) if row is not None else None

    return load
