"""The WSGI server for `hub serve` and `hub web`: waitress, optionally in several forked processes.

One Python process is held to one core by the GIL, so `hub serve` runs one process per CPU unless
told otherwise (`--processes N`, HUB_PROCESSES). With N > 1 the parent binds the
listening socket and forks N-1 copies of itself before any thread or database connection exists;
every process accepts from the same socket, executes the runs it accepted, and takes part in the
scheduler's leader election. Left to the kernel, whichever process polls first takes a connection,
and keep-alive clients can all land on one process while another idles; AcceptBalance has a process
accept only while it is not ahead of the least loaded live one by more than a small slack. SQLite writers of
all processes queue on one file lock (hub/db/session.py), so nothing waits on SQLite's busy sleep.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import mmap
import os
import platform
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from hub.config import Settings
from hub.cpus import CpuPinning, usable_cpu_count

log = logging.getLogger("hub.server")
PR_SET_PDEATHSIG = 1


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _die_with_parent() -> None:
    """A child never outlives the parent, even one killed with SIGKILL (Linux; elsewhere best effort)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        log.warning("event=pdeathsig_unavailable")


class AcceptBalance:
    """Open connections of every serving process in shared memory, each with a heartbeat.

    Made before forking, so every process maps the same table; each writes only its own slot. A
    slot not refreshed for STALE_S (a process that died) is left out of the comparison.

    A process that steps back stops polling the listening socket, and nothing wakes it when the
    others catch up: it looks again at its loop's next turn. So a process steps back only when it
    is ahead by more than a slack (which grows with the load), and its loop turns every WAKE_S:
    with a strict rule and waitress's one-second turn, a burst of new connections was taken one
    or two a second, the processes handing the lead back and forth."""

    SLOT = struct.Struct("dq")  # heartbeat (CLOCK_MONOTONIC is system-wide), open connections
    STALE_S = 5.0
    WAKE_S = 0.05
    # report() runs at every turn of the loop, many times per WAKE_S under load. With the count
    # unchanged, an answer up to REUSE_S old is as good as a new one: the loop looks again within
    # WAKE_S anyway, and a heartbeat REUSE_S late is far inside STALE_S.
    REUSE_S = 0.02

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.table = mmap.mmap(-1, self.SLOT.size * processes)  # anonymous and shared across fork
        self.index = 0
        self.last = (-1, 0.0, True)  # connections (-1: none yet), when the table was read, the answer

    def report(self, connections: int) -> bool:
        """Record this process's connections; whether it should accept another now (the last answer
        while the count is unchanged and younger than REUSE_S)."""
        now = time.monotonic()
        reported, at, answer = self.last
        if connections == reported and now - at < self.REUSE_S:
            return answer
        answer = self._compare(now, connections)
        self.last = (connections, now, answer)
        return answer

    def _compare(self, now: float, connections: int) -> bool:
        """Write this process's slot; whether no live process is further behind it than the slack."""
        self.SLOT.pack_into(self.table, self.SLOT.size * self.index, now, connections)
        for index in range(self.processes):
            beat, others = self.SLOT.unpack_from(self.table, self.SLOT.size * index)
            if (
                index != self.index
                and now - beat < self.STALE_S
                and others + self.slack(others) < connections
            ):
                return False
        return True

    @staticmethod
    def slack(connections: int) -> int:
        """How far ahead of a process holding `connections` another may be and still accept."""
        return 1 + connections // 8

    def gate(self, server: Any) -> None:
        """Make a waitress server poll its listening socket only while this process may accept."""
        readable = server.readable

        def balanced_readable() -> bool:
            return readable() and self.report(len(server._map))

        server.readable = balanced_readable
        server.adj.asyncore_loop_timeout = self.WAKE_S  # read by the loop at each turn


# Past this, more processes only queue on the database's one writer (SQLite) and add memory: a
# bigger machine runs `hub web` and `hub worker` processes (or Celery) instead.
MAX_DEFAULT_PROCESSES = 8


def default_processes() -> int:
    """One serving process per CPU the hub can use (its affinity, or a smaller CPU quota: a
    container limited to 2 CPUs forks 2), up to MAX_DEFAULT_PROCESSES: a process is held to one
    core by the GIL."""
    return min(usable_cpu_count(), MAX_DEFAULT_PROCESSES)


def prefork(
    processes: int, balance: AcceptBalance | None = None, pinning: CpuPinning | None = None
) -> list[int]:
    """Fork `processes - 1` children; returns their pids in the parent and [] in each child.
    Each process gets its own slot of `balance`, and its own CPU under `pinning`."""
    children: list[int] = []
    for index in range(1, max(1, processes)):
        pid = os.fork()
        if pid == 0:
            _die_with_parent()
            if balance is not None:
                balance.index = index
            if pinning is not None:
                pinning.hold(index)
            return []
        children.append(pid)
    if pinning is not None:
        pinning.hold(0)
    return children


def stop_children(children: list[int], timeout_s: float = 20.0) -> None:
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + timeout_s
    pending = set(children)
    while pending and time.monotonic() < deadline:
        for pid in list(pending):
            try:
                done, _status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                pending.discard(pid)
        time.sleep(0.05)
    for pid in pending:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


# glibc gives each thread that allocates an arena of its own (up to 8 per core): a process's ~25
# threads (web, runs, committer) spread their buffers and SQLite's pages over as many, each keeping
# freed memory. Two keep a serving process ~6 MiB smaller under a burst for no measured CPU cost:
# Python allocates under the GIL, so the threads rarely contend for an arena.
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


def limit_malloc_arenas(environ: Mapping[str, str] = os.environ) -> bool:
    """Hold glibc's malloc to MALLOC_ARENAS arenas; before any thread starts (forked processes
    inherit it). MALLOC_ARENA_MAX in the environment (read by glibc itself) wins; other C libraries
    are left alone. Whether the limit was set here."""
    if "MALLOC_ARENA_MAX" in environ or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(_M_ARENA_MAX, MALLOC_ARENAS))
    except (OSError, AttributeError):
        return False


def settle_heap() -> None:
    """Exempt what startup allocated (modules, app, connectors) from garbage collection. A full
    collection otherwise walks all of it: 40-120 ms pauses measured under load, each one holding
    every acknowledgement in the process behind it."""
    gc.freeze()


def run_waitress(
    app: Any,
    sock: socket.socket,
    threads: int,
    on_stop: Callable[[], None],
    settings: Settings,
    balance: AcceptBalance | None = None,
) -> None:
    """Serve `app` on `sock` with the connection, time and body limits of `settings` until SIGTERM or
    SIGINT, then call `on_stop`."""
    from waitress import create_server

    from hub import server_limits

    server_limits.raise_file_limit(settings)
    options = server_limits.waitress_options(settings)
    server = create_server(app, sockets=[sock], threads=threads, ident="hub", **options)
    server_limits.apply(server, settings)
    if balance is not None:
        balance.gate(server)

    def stop(_signum: int, _frame: Any) -> None:
        raise SystemExit(0)  # leaves waitress's loop in the main thread, which then shuts down

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    try:
        server.run()
    except SystemExit:
        pass
    finally:
        server.task_dispatcher.shutdown()
        on_stop()
