"""The WSGI server for `hub serve` and `hub web`: waitress, optionally in several forked processes.

One Python process is held to one core by the GIL. With `--processes N` the parent binds the
listening socket and forks N-1 copies of itself before any thread or database connection exists;
every process accepts from the same socket (the kernel hands each connection to an idle one),
executes the runs it accepted, and takes part in the scheduler's leader election. SQLite writers of
all processes queue on one file lock (hub/db/session.py), so nothing waits on SQLite's busy sleep.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

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


def prefork(processes: int) -> list[int]:
    """Fork `processes - 1` children; returns their pids in the parent and [] in each child."""
    children: list[int] = []
    for _ in range(max(0, processes - 1)):
        pid = os.fork()
        if pid == 0:
            _die_with_parent()
            return []
        children.append(pid)
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


def run_waitress(app: Any, sock: socket.socket, threads: int, on_stop: Callable[[], None]) -> None:
    """Serve `app` on `sock` until SIGTERM or SIGINT, then call `on_stop`."""
    from waitress import create_server

    server = create_server(app, sockets=[sock], threads=threads, ident="hub", channel_timeout=60)

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
