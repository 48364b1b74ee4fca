"""Engine and session handling for SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

import fcntl
import itertools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from hub import jsonutil
from hub.db.committer import GroupCommitter

T = TypeVar("T")


_reading = threading.local()


def _sqlite_pragmas(engine: Engine, busy_timeout_s: float) -> None:
    """WAL for concurrent readers, foreign keys on, and writers that wait instead of failing.

    Write transactions begin IMMEDIATE: a deferred transaction that reads and then writes can fail
    with SQLITE_BUSY_SNAPSHOT under concurrent writers, which busy_timeout does not retry. Read-only
    units of work (Database.read) begin deferred and never wait for the write lock.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={round(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # On the driver's connection: SQLAlchemy's exec_driver_sql costs ~40 µs (its execution
        # context and events) for a statement that returns nothing, once per transaction.
        driver = connection.connection.driver_connection
        if driver.in_transaction:  # the group committer begins its batches on the driver itself
            return
        driver.execute("BEGIN" if getattr(_reading, "active", False) else "BEGIN IMMEDIATE")


def make_engine(url: str, *, busy_timeout_s: float = 30.0, **kwargs: Any) -> Engine:
    """An engine for `url`; `busy_timeout_s` is how long a SQLite writer waits for the lock."""
    options: dict[str, Any] = {
        "json_serializer": jsonutil.dumps,
        "json_deserializer": jsonutil.loads,
        "future": True,
    }
    if url.startswith("sqlite"):
        options["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout_s}
    else:
        options.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
    options.update(kwargs)
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        _sqlite_pragmas(engine, busy_timeout_s)
    return engine


def _open_lock_file(engine: Engine) -> int | None:
    path = engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return os.open(f"{path}-hub.lock", os.O_RDWR | os.O_CREAT, 0o600)


_instances = itertools.count(1)


class SessionOnDemand:
    """Stands in for a read session (Database.read_on_demand): the first attribute asked for opens
    one in `opened`, and every attribute is then the session's own."""

    def __init__(self, db: Database, opened: ExitStack) -> None:
        self._db = db
        self._opened = opened
        self._session: Session | None = None

    def __getattr__(self, name: str) -> Any:
        if self._session is None:
            self._session = self._opened.enter_context(self._db.read())
        return getattr(self._session, name)


class Database:
    """One engine and session factory per process; sessions are short and per unit of work."""

    def __init__(self, url: str, *, busy_timeout_s: float = 30.0, **engine_kwargs: Any) -> None:
        self.url = url
        self.instance = next(_instances)  # a key for per-database caches that is never reused
        self.engine = make_engine(url, busy_timeout_s=busy_timeout_s, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time. Threads of this process queue on a lock, which hands over
        # at once, instead of on SQLite's busy handler, which sleeps and polls (seconds of tail latency).
        self._write_lock = threading.RLock() if self.engine.dialect.name == "sqlite" else None
        # ...and processes sharing the file (`hub serve --processes N`) on an flock beside it, which
        # wakes the next writer as soon as it is released.
        self._file_lock = _open_lock_file(self.engine) if self._write_lock is not None else None
        self._write_depth = 0
        self._commit_listeners: list[Callable[[Session], None]] = []
        self._committer = GroupCommitter(self) if self._write_lock is not None else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session committed on success and rolled back on any error."""
        if self._write_lock is None:
            yield from self._unit_of_work()
            return
        outer = getattr(_reading, "active", False)
        _reading.active = False
        try:
            with self.write_lock():
                yield from self._unit_of_work()
        finally:
            _reading.active = outer

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """SQLite's write lock as this process's threads and the other processes of `hub serve`
        queue for it (a no-op on PostgreSQL)."""
        if self._write_lock is None:
            yield
            return
        with self._write_lock, self._process_lock():
            yield

    def session_on(self, connection: Connection) -> Session:
        """A session of this database on `connection` (the group committer's, kept for its life)."""
        return self._sessions(bind=connection)

    @contextmanager
    def _process_lock(self) -> Iterator[None]:
        """The cross-process write lock, taken by the outermost write transaction of this process."""
        if self._file_lock is None:
            yield
            return
        self._write_depth += 1
        try:
            if self._write_depth == 1:
                fcntl.flock(self._file_lock, fcntl.LOCK_EX)
            yield
        finally:
            self._write_depth -= 1
            if self._write_depth == 0:
                fcntl.flock(self._file_lock, fcntl.LOCK_UN)

    def write(self, fn: Callable[[Session], T]) -> T:
        """Apply `fn` in a write transaction, committed when this returns. On SQLite, writes of
        concurrent threads are grouped into one commit (PostgreSQL keeps one transaction each, so
        row locks stay short and batches of unrelated work never deadlock each other)."""
        if self._committer is None:
            with self.transaction() as session:
                return fn(session)
        return self._committer.submit(fn)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session: a consistent snapshot that never waits for writers. Do not write in it."""
        if self._write_lock is None:
            yield from self._unit_of_work()
            return
        outer = getattr(_reading, "active", False)
        _reading.active = True
        try:
            yield from self._unit_of_work()
        finally:
            _reading.active = outer

    @contextmanager
    def read_on_demand(self) -> Iterator[SessionOnDemand]:
        """Like read(), for a unit of work that often needs no query (everything it reads may be
        cached): the session, ~25 µs to begin, commit and close, is opened only when first used."""
        with ExitStack() as opened:
            yield SessionOnDemand(self, opened)

    def _unit_of_work(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def on_commit(self, listener: Callable[[Session], None]) -> None:
        """Call `listener` with each session of this database once it committed."""
        self._commit_listeners.append(listener)
        event.listen(self._sessions, "after_commit", listener)

    def committed(self, session: Session) -> None:
        """Tell the commit listeners that `session` committed on the driver (the group committer's
        batches), as SQLAlchemy does for a session's own commit."""
        for listener in self._commit_listeners:
            listener(session)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        if self._committer is not None:
            self._committer.close()
        self.engine.dispose()
        if self._file_lock is not None:
            os.close(self._file_lock)
            self._file_lock = None
