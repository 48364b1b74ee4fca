"""SQLite's WAL checkpoints, off the group committer's thread.

By default the connection whose COMMIT takes the WAL past 1,000 pages copies them into the database
file and syncs it before that COMMIT returns: 5-15 ms in which the group committer, the one writer of
its process, commits nothing, and every webhook answer and run step of that process waits (127 of
9,294 commits in a 20 s burst at 32 connections, 0.85 s in all). The committer's connection turns
automatic checkpoints off and this thread copies the WAL in PASSIVE mode instead, which never blocks
a writer or a reader, at most every `interval_s` while the committer writes.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Any

from sqlalchemy.engine import Engine

log = logging.getLogger("hub.db")


class WalCheckpointer:
    """A thread that checkpoints the WAL after writes, one checkpoint per `interval_s` at most."""

    def __init__(self, engine: Engine, interval_s: float = 0.5) -> None:
        self.engine = engine
        self.interval_s = interval_s
        self.checkpoints = 0  # completed, for tests and curiosity
        self._wrote = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="hub-checkpoint", daemon=True)
            self._thread.start()

    def wrote(self) -> None:
        """Something was committed: a checkpoint is due within `interval_s`."""
        if not self._wrote.is_set():
            self._wrote.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """End the thread after one last checkpoint of what was written."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            self._wrote.set()
            thread.join(timeout_s)

    def _loop(self) -> None:
        while True:
            self._wrote.wait()
            self._wrote.clear()
            self.checkpoint()
            if self._stopping.wait(self.interval_s):
                if self._wrote.is_set():
                    self.checkpoint()
                return

    def checkpoint(self) -> None:
        """Copy the WAL's committed frames into the database file without waiting for anyone;
        a failure is logged and the next write tries again (a checkpoint is never needed for
        durability: the frames are safe in the WAL)."""
        try:
            connection = self.engine.raw_connection()
            try:
                driver: Any = connection.driver_connection
                driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                self.checkpoints += 1
            finally:
                connection.close()
        except (sqlite3.Error, OSError) as exc:
            log.warning("event=wal_checkpoint_failed error=%s", str(exc)[:200])
