"""Pre-forked serving: every process accepts only while it is not ahead of the least loaded one."""

from __future__ import annotations

import gc
import os
import time
from typing import Any

import hub.server as server_module
from hub.server import AcceptBalance, settle_heap


def _sibling(balance: AcceptBalance, index: int) -> AcceptBalance:
    """Another process's view of the same table (as a forked process has it)."""
    other = AcceptBalance.__new__(AcceptBalance)
    other.processes, other.table, other.index = balance.processes, balance.table, index
    return other


class _Server:
    """The part of a waitress server the gate uses: readable() and the map of open channels."""

    def __init__(self, channels: int) -> None:
        self._map = dict.fromkeys(range(channels))

    def readable(self) -> bool:
        return True


def test_a_process_ahead_of_another_stops_accepting_until_it_is_level() -> None:
    balance = AcceptBalance(2)
    other = _sibling(balance, 1)
    assert other.report(3)
    assert not balance.report(5)  # 5 open here, 3 there: let the other process take the next one
    assert balance.report(3)  # level: both may accept, the kernel picks one
    assert balance.report(2) and not other.report(3)


def test_a_slot_not_refreshed_is_ignored(monkeypatch: Any) -> None:
    balance = AcceptBalance(2)
    other = _sibling(balance, 1)
    assert other.report(0)  # then that process dies
    assert not balance.report(4)
    later = time.monotonic() + AcceptBalance.STALE_S + 1
    monkeypatch.setattr(server_module.time, "monotonic", lambda: later)
    assert balance.report(4)


def test_the_table_is_shared_with_forked_processes() -> None:
    balance = AcceptBalance(2)
    pid = os.fork()
    if pid == 0:  # the child reports many connections and leaves at once
        balance.index = 1
        balance.report(7)
        os._exit(0)
    os.waitpid(pid, 0)
    assert AcceptBalance.SLOT.unpack_from(balance.table, AcceptBalance.SLOT.size)[1] == 7
    assert balance.report(6)  # fewer than the child's 7


def test_gate_wraps_the_servers_readable() -> None:
    balance = AcceptBalance(2)
    other = _sibling(balance, 1)
    other.report(2)
    server = _Server(channels=4)
    balance.gate(server)
    assert server.readable() is False
    server._map = dict.fromkeys(range(2))
    assert server.readable() is True


def test_settle_heap_freezes_what_startup_allocated() -> None:
    gc.unfreeze()
    settle_heap()
    try:
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
