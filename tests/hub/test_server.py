"""Pre-forked serving: every process accepts only while it is not ahead of the least loaded one; the
limits each process serves with (exercised on a real server in tests/e2e/test_server_limits_e2e.py)."""

from __future__ import annotations

import copy
import gc
import os
import platform
import time
from types import SimpleNamespace
from typing import Any

import pytest

import hub.server as server_module
from hub import cpus
from hub.config import Settings
from hub.server import AcceptBalance, settle_heap
from hub.server_limits import body_limit


def _sibling(balance: AcceptBalance, index: int) -> AcceptBalance:
    """Another process's view of the same table (as a forked process has it)."""
    other = copy.copy(balance)  # the same mmap, like a fork's
    other.index = index
    return other


class _Clock:
    """time.monotonic, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _Server:
    """The part of a waitress server the gate uses: readable() and the map of open channels."""

    def __init__(self, channels: int) -> None:
        self._map = dict.fromkeys(range(channels))
        self.adj = SimpleNamespace(asyncore_loop_timeout=1)

    def readable(self) -> bool:
        return True


def test_a_process_ahead_of_another_stops_accepting_until_it_is_within_the_slack() -> None:
    balance = AcceptBalance(2)
    other = _sibling(balance, 1)
    assert other.report(3)
    assert not balance.report(5)  # 5 open here, 3 there: let the other process take the next one
    assert balance.report(4)  # one ahead: both may accept, the kernel picks one
    assert balance.report(2) and other.report(3) and not other.report(4)


def test_the_slack_grows_with_the_load() -> None:
    balance = AcceptBalance(2)
    other = _sibling(balance, 1)
    assert other.report(160)
    assert balance.report(181) and not balance.report(182)  # 160 + 1 + 160 // 8 = 181


def test_a_slot_not_refreshed_is_ignored(monkeypatch: Any) -> None:
    balance = AcceptBalance(2)
    other = _sibling(balance, 1)
    assert other.report(0)  # then that process dies
    assert not balance.report(4)
    later = time.monotonic() + AcceptBalance.STALE_S + 1
    monkeypatch.setattr(server_module.time, "monotonic", lambda: later)
    assert balance.report(4)


def test_an_unchanged_count_reuses_the_answer_until_it_is_reuse_s_old(monkeypatch: Any) -> None:
    clock = _Clock()
    monkeypatch.setattr(server_module.time, "monotonic", clock)
    balance = AcceptBalance(2)
    other = _sibling(balance, 1)
    assert other.report(0)
    assert not balance.report(5)
    assert other.report(5)  # the other process catches up...
    clock.now += AcceptBalance.REUSE_S / 2
    assert not balance.report(5)  # ...unseen: the same count, answered without reading the table
    assert AcceptBalance.SLOT.unpack_from(balance.table, 0)[0] == 1000.0  # nor writing its heartbeat
    clock.now += AcceptBalance.REUSE_S
    assert balance.report(5)  # past REUSE_S, the table is read again
    assert AcceptBalance.SLOT.unpack_from(balance.table, 0)[0] == clock.now


def test_a_changed_count_is_compared_at_once(monkeypatch: Any) -> None:
    monkeypatch.setattr(server_module.time, "monotonic", _Clock())  # the clock never moves
    balance = AcceptBalance(2)
    other = _sibling(balance, 1)
    assert other.report(0)
    assert not balance.report(5)
    assert other.report(4)
    assert balance.report(4)  # one connection closed here: the table is read again
    assert AcceptBalance.SLOT.unpack_from(balance.table, 0)[1] == 4
    assert other.report(0)
    assert not balance.report(5)


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
    assert server.adj.asyncore_loop_timeout == AcceptBalance.WAKE_S  # stepping back, it looks again soon
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


def test_server_limits_come_from_the_environment_with_clear_errors() -> None:
    settings = Settings.from_env({"HUB_MAX_CONNECTIONS": "2000", "HUB_CLIENT_TIMEOUT_S": "10"})
    assert (settings.max_connections, settings.client_timeout_s) == (2000, 10)
    assert body_limit(settings, "/hooks/abc") == settings.max_webhook_bytes
    assert body_limit(settings, "/api/v1/recipes") == settings.max_api_bytes
    assert body_limit(settings, "/recipes/new") == settings.max_form_bytes
    for name, value in (("HUB_MAX_API_BYTES", "8MB"), ("HUB_CLIENT_TIMEOUT_S", "0")):
        with pytest.raises(ValueError, match=name):
            Settings.from_env({name: value})


def test_serve_forks_one_process_per_cpu_it_may_use(monkeypatch: Any, tmp_path: Any) -> None:
    monkeypatch.setattr(cpus, "CGROUP", tmp_path)  # no quota
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2})
    assert server_module.default_processes() == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(32)))
    assert server_module.default_processes() == server_module.MAX_DEFAULT_PROCESSES == 8
    monkeypatch.delattr(os, "sched_getaffinity")  # not Linux
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert server_module.default_processes() == 1


def test_serve_names_a_bad_process_count(monkeypatch: Any) -> None:
    from click.testing import CliRunner

    from hub.cli import main

    monkeypatch.setenv("HUB_PROCESSES", "two")
    answer = CliRunner().invoke(main, ["serve", "--port", "0"])
    assert answer.exit_code != 0 and "HUB_PROCESSES must be a whole number" in answer.output


def test_malloc_arenas_are_limited_through_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []

    class FakeLibc:
        def mallopt(self, parameter: int, value: int) -> int:
            calls.append((parameter, value))
            return 1

    monkeypatch.setattr(server_module.platform, "libc_ver", lambda: ("glibc", "2.36"))
    monkeypatch.setattr(server_module.ctypes, "CDLL", lambda name: FakeLibc())
    assert server_module.limit_malloc_arenas({}) is True
    assert calls == [(-8, server_module.MALLOC_ARENAS)]  # M_ARENA_MAX
    assert server_module.limit_malloc_arenas({"MALLOC_ARENA_MAX": "4"}) is False  # glibc reads that itself
    monkeypatch.setattr(server_module.platform, "libc_ver", lambda: ("", ""))
    assert server_module.limit_malloc_arenas({}) is False  # musl, macOS: left alone
    assert len(calls) == 1


def test_malloc_arenas_limit_is_accepted_by_this_machines_glibc() -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not a glibc system")
    assert server_module.limit_malloc_arenas({}) is True
