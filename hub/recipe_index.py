"""Recipes' current versions, and the per-process index that caches what hot paths read of recipes.

Every "current version of a recipe" read goes through `current_versions` / `current_version`. The
index (one per Runtime, `rt.recipes`) remembers version documents and webhook endpoint lookups.
Whoever changes what it holds calls `recipe_store.mark_changed` in the same transaction; at its
commit a change marker row is rewritten, this process drops its cache, and other processes on the
same database see the new marker at their next check, at most CHECK_EVERY_S later. The processes
one `hub serve` forks also share a counter in memory (`SiblingChanges`), bumped after each such
commit and compared at every lookup: a recipe disabled through one of them stops taking webhooks in
all of them before the API answers.
"""

from __future__ import annotations

import mmap
import struct
import threading
import time
import uuid
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from sqlalchemy import Select, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.db.models import Meta, Recipe, RecipeVersion
from hub.engine import store
from hub.jsonutil import dumps
from hub.recipe_secrets import open_document, secret_values

if TYPE_CHECKING:
    from hub.db.session import Database
    from hub.registry import Registry
    from hub.vault import Vault

T = TypeVar("T")
CHANGE_MARKER_KEY = "recipes_changed"
CHANGED_FLAG = "hub_recipes_changed"
CHECK_EVERY_S = 1.0  # how stale another process's change may be seen (the old lookup TTL)
MAX_ENTRIES = 10_000
MARKER = select(Meta.value).where(Meta.key == CHANGE_MARKER_KEY)


class CachedVersion(NamedTuple):
    """A recipe version as a run reads it: its document opened, whether it names hook URLs, and its
    literal secrets (found by walking the document, once rather than on every run)."""

    name: str
    document: dict[str, Any]
    names_hooks: bool
    project_id: int | None
    secrets: tuple[str, ...]


class CurrentVersion(NamedTuple):
    id: int
    name: str
    version: int
    document: dict[str, Any]


def current_versions(*where: Any) -> Select[tuple[int, str, int, dict[str, Any]]]:
    """(id, name, version, document) of the current version of each recipe matching `where`."""
    return (
        select(Recipe.id, Recipe.name, Recipe.current_version, RecipeVersion.document)
        .join(
            RecipeVersion,
            (RecipeVersion.recipe_id == Recipe.id) & (RecipeVersion.version == Recipe.current_version),
        )
        .where(*where)
    )


def current_version(session: Session, recipe_id: int) -> CurrentVersion:
    """The current version of one recipe (deleted or not)."""
    return CurrentVersion(*session.execute(current_versions(Recipe.id == recipe_id)).one())


def current_document(session: Session, recipe: Recipe) -> dict[str, Any]:
    return current_version(session, recipe.id).document


def mark_changed(session: Session) -> None:
    """Record that `session`'s transaction changes recipes (or what lookups read of them)."""
    session.info[CHANGED_FLAG] = True


@event.listens_for(Session, "before_commit")
def _write_marker(session: Session) -> None:
    """A new change marker, written last in the transaction: a lock on its row is only ever held by a
    transaction about to commit, so it never joins a lock-order cycle with the changed rows."""
    if not session.info.get(CHANGED_FLAG):
        return
    upsert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    marker = uuid.uuid4().hex
    session.execute(
        upsert(Meta)
        .values(key=CHANGE_MARKER_KEY, value=marker)
        .on_conflict_do_update(index_elements=[Meta.key], set_={"value": marker})
    )


def _mentions_hook_urls(document: dict[str, Any]) -> bool:
    text = dumps(document)
    return "webhook_url" in text or "wait_urls" in text


class SiblingChanges:
    """A change counter in anonymous shared memory, made before `hub serve` forks, so every process
    of the group maps it. A bump is a plain read and write: two processes bumping at once may both
    write the same value, which still differs from what the others saw before either commit, and
    each bumps only after its change committed, so a process reloading on the new value sees both."""

    VALUE = struct.Struct("Q")

    def __init__(self) -> None:
        self.table = mmap.mmap(-1, self.VALUE.size)

    def value(self) -> int:
        seen: int = self.VALUE.unpack_from(self.table)[0]
        return seen

    def bump(self) -> None:
        self.VALUE.pack_into(self.table, 0, (self.value() + 1) % 2**64)


class RecipeIndex:
    """Cached recipe reads of one process and database, dropped whenever a recipe changes."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._entries: dict[Hashable, Any] = {}
        self._generation = 0  # bumped at every drop, so a read begun before it is not kept
        self._marker: str | None = None
        self._next_check = 0.0
        self._siblings: SiblingChanges | None = None
        self._siblings_seen = 0
        db.on_commit(self._committed)

    def share_changes(self, siblings: SiblingChanges) -> None:
        """Tell, and hear from, the other processes of one `hub serve` at once (see SiblingChanges)."""
        with self._lock:
            self._siblings, self._siblings_seen = siblings, siblings.value()

    def _committed(self, session: Session) -> None:
        if session.info.pop(CHANGED_FLAG, False):
            self.invalidate()
            if self._siblings is not None:
                self._siblings.bump()

    def invalidate(self) -> None:
        """Drop everything now (a change committed in this process)."""
        with self._lock:
            self._drop()
            self._next_check = 0.0  # and learn the new marker at the next read

    def _drop(self) -> None:
        self._entries.clear()
        self._generation += 1

    def _check(self, session: Session | None) -> int:
        """Drop what another process's change made stale (a marker read at most every CHECK_EVERY_S,
        in `session` if given); the generation that reads begun now belong to."""
        now = time.monotonic()
        with self._lock:
            if self._siblings is not None and (seen := self._siblings.value()) != self._siblings_seen:
                self._siblings_seen = seen  # a sibling process changed a recipe: drop, and read the marker
                self._drop()
                self._next_check = 0.0
            if now < self._next_check:
                return self._generation
            self._next_check = now + CHECK_EVERY_S
        if session is None:
            with self.db.read() as own:
                marker = own.scalar(MARKER)
        else:
            marker = session.scalar(MARKER)
        with self._lock:
            if marker != self._marker:
                self._marker = marker
                self._drop()
            return self._generation

    def lookup(self, key: Hashable, load: Callable[[], T], session: Session | None = None) -> T:
        """`load()`, remembered under `key` until a recipe changes (the marker read in `session`)."""
        generation = self._check(session)
        with self._lock:
            if key in self._entries:
                return self._entries[key]  # type: ignore[no-any-return]
        found = load()
        with self._lock:
            if self._generation == generation:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[key] = found
        return found

    def version(
        self, session: Session, recipe_id: int, version: int, vault: Vault, registry: Registry
    ) -> CachedVersion:
        """A recipe version as a run needs it, read in `session`; the document is opened and scanned
        once rather than on every run, and the project comes with it (moving a recipe marks a change)."""

        def load() -> CachedVersion:
            name, stored, project_id = store.read_version_in_project(session, recipe_id, version)
            document = open_document(stored, vault, registry, recipe_id, version)
            secrets = tuple(secret_values(document, registry))
            return CachedVersion(name, document, _mentions_hook_urls(document), project_id, secrets)

        return self.lookup(("version", recipe_id, version), load, session)
