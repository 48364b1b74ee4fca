"""Group commit for SQLite: writes from many threads share one transaction and one commit.

SQLite has a single writer. Handing the write lock from thread to thread costs more than the writes
themselves once the GIL is contended, so one thread applies every queued unit of work, each inside
its own SAVEPOINT (a failing unit is undone alone), and commits them together. A caller returns
only after the commit holding its work, so "stored before acknowledged" still holds.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from hub.db.checkpoint import WalCheckpointer
from hub.db.fastsql import forget_transaction_info

if TYPE_CHECKING:
    from hub.db.session import Database

T = TypeVar("T")

_OFF, _DEFAULT = 0, 1000  # SQLite's wal_autocheckpoint: off for the committer, else its default


class _Unit:
    """One caller's work. `done` is a bare lock held until the commit: releasing it is one C call,
    where an Event's set() runs a Condition's Python code under the GIL for every unit of a batch
    (a tenth of the GIL's time under a burst, profiled)."""

    __slots__ = ("done", "error", "fn", "result")

    def __init__(self, fn: Callable[[Session], Any]) -> None:
        self.fn = fn
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = threading.Lock()
        self.done.acquire()


class _Stop(_Unit):
    """Put on the queue by close(): the committer closes its connection and ends."""

    def __init__(self) -> None:
        super().__init__(lambda _session: None)


class GroupCommitter:
    """The one writer thread of a process on SQLite.

    It keeps one pooled connection and one session on it for its whole life, and
    begins and commits each batch on the driver: a session per batch (pool checkout, SQLAlchemy's
    transaction states, the commit chain, the return to the pool) cost ~120 µs of a batch's CPU
    where BEGIN IMMEDIATE and COMMIT need ~12. SQLAlchemy sees one long transaction it never ends;
    the session is emptied after every batch, and the database's commit listeners are called
    after each COMMIT, as a session's own commit would."""

    def __init__(self, db: Database, max_batch: int = 256) -> None:
        self.db = db
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Unit] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._connection: Connection | None = None
        self._session: Session | None = None
        self._applying = False
        self.checkpointer = WalCheckpointer(db.engine)

    def submit(self, fn: Callable[[Session], T]) -> T:
        """Apply `fn` in a write transaction and return its result once that transaction committed."""
        if threading.current_thread() is self._thread and self._applying:
            assert self._session is not None
            return fn(self._session)  # a unit that writes again: part of that unit
        self._ensure_thread()
        unit = _Unit(fn)
        self._queue.put(unit)
        unit.done.acquire()  # released by the committer once the batch holding `unit` committed
        if unit.error is not None:
            raise unit.error
        return unit.result

    def close(self, timeout_s: float = 5.0) -> None:
        """End the committer thread once the units queued before are applied, and close its
        connection. A later write starts a new thread."""
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return
        self._queue.put(_Stop())
        thread.join(timeout_s)

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._loop, name="hub-group-commit", daemon=True)
                self._thread = thread
                thread.start()

    def _loop(self) -> None:
        try:
            while self._next_batch():
                pass
        finally:
            self._disconnect()
            with self._start_lock:
                self._thread = None
            if not self._queue.empty():  # put while this thread was ending: a new one applies it
                self._ensure_thread()

    def _next_batch(self) -> bool:
        """Apply the next batch of queued units; False once close() asked to stop."""
        batch = [self._queue.get()]
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        units = [unit for unit in batch if not isinstance(unit, _Stop)]
        if units:
            self._apply(units)
        return len(units) == len(batch)

    def _connect(self) -> tuple[Session, Any]:
        """The committer's session and its driver connection, opened at the first batch (or after a
        batch that failed outside its units, in case the connection is what failed)."""
        if self._session is None:
            connection = self.db.engine.connect()  # back to the pool (rolled back) at close()
            self._connection = connection
            self._session = self.db.session_on(connection)
            driver: Any = connection.connection.driver_connection
            driver.execute(f"PRAGMA wal_autocheckpoint={_OFF}")
            self.checkpointer.start()  # checkpoints this connection's commits instead
        assert self._connection is not None
        return self._session, self._connection.connection.driver_connection

    def _disconnect(self) -> None:
        session, connection = self._session, self._connection
        self._session = self._connection = None
        try:
            if session is not None:
                session.close()
        finally:
            if connection is not None:
                driver: Any = connection.connection.driver_connection
                try:  # back to the pool as other connections are, checkpointing its own commits
                    driver.execute(f"PRAGMA wal_autocheckpoint={_DEFAULT}")
                except sqlite3.Error:  # not to be used again as it is
                    connection.invalidate()
                connection.close()
            self.checkpointer.stop()

    def _apply_each(self, session: Session, driver: Any, batch: list[_Unit]) -> None:
        """Each unit inside a savepoint of its own, so a failing one is undone alone. Plain SQL on the
        driver's connection: the ORM's begin_nested() costs ~0.2 ms each and SQLAlchemy's
        exec_driver_sql ~25 µs, more than many units' own statements. A unit's ORM changes are
        flushed inside its savepoint."""
        for unit in batch:
            driver.execute("SAVEPOINT hub_unit")
            try:
                unit.result = unit.fn(session)
                session.flush()
            except Exception as exc:  # this unit is undone; the others stand
                unit.error = exc
                if not driver.in_transaction:  # a failed flush: SQLAlchemy rolled everything back
                    return
                driver.execute("ROLLBACK TO SAVEPOINT hub_unit")
                session.expunge_all()  # forget the undone unit's objects, pending ones included
            driver.execute("RELEASE SAVEPOINT hub_unit")

    def _run_units(self, session: Session, driver: Any, batch: list[_Unit]) -> bool:
        """Apply the batch's units; whether its transaction may be committed: not when a unit alone
        in its batch failed (it ran without a savepoint) or an ORM flush failed (SQLAlchemy then
        keeps nothing of the transaction, and every unit of the batch fails, as a session's would)."""
        if len(batch) > 1:
            self._apply_each(session, driver, batch)
            if session.is_active and driver.in_transaction:
                return True
            for unit in batch:
                if unit.error is None:
                    unit.error = RuntimeError("not stored: another write of its batch failed to flush")
            return False
        unit = batch[0]
        try:
            unit.result = unit.fn(session)
            session.flush()
        except Exception as exc:
            unit.error = exc
            return False
        return True

    def _apply(self, batch: list[_Unit]) -> None:
        committed = False
        try:
            with self.db.write_lock():
                session, driver = self._connect()
                driver.execute("BEGIN IMMEDIATE")
                try:
                    self._applying = True
                    if self._run_units(session, driver, batch):
                        driver.execute("COMMIT")
                        committed = True
                finally:
                    self._applying = False
                    if not committed:
                        if driver.in_transaction:
                            driver.execute("ROLLBACK")
                        session.rollback()  # SQLAlchemy's side: its transaction ends, its objects go
                    session.expunge_all()
            if committed:
                self.checkpointer.wrote()
                self.db.committed(session)
        except BaseException as exc:  # the begin or the commit failed: nothing of this batch is stored
            for unit in batch:
                if unit.error is None:
                    unit.error = exc
            if not committed:
                self._disconnect()  # in case the connection is what failed: a new one for the next batch
        finally:
            if self._session is not None:
                forget_transaction_info(self._session)  # after the listeners read it
            for unit in batch:
                unit.done.release()
