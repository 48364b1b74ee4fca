"""`hub serve` with several processes: `/metrics` in any of them sums every process's counters and
histograms (prometheus_client's multiprocess mode) and reports runs by status from the database once."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from prometheus_client import values

from hub.metrics import MULTIPROC_ENV, Metrics, share_across_processes


def _in_child(work: ExitStack | None = None) -> int:
    """Fork; the child counts a webhook, a step and a recipe's run, leaves `work`, and exits."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            metrics = Metrics()
            metrics.webhooks.labels("accepted").inc(3)
            metrics.step_seconds.labels("http", "request", "ok").observe(0.2)
            metrics.recipe_run(7, "succeeded", 1.0)
            if work is not None:
                work.close()
            code = 0
        finally:
            os._exit(code)
    _pid, status = os.waitpid(pid, 0)
    return status


def test_every_process_is_summed_once_per_series_and_runs_by_status_come_once() -> None:
    with share_across_processes():
        assert _in_child() == 0
        metrics = Metrics()
        metrics.webhooks.labels("accepted").inc(2)
        metrics.step_seconds.labels("http", "request", "ok").observe(0.3)
        metrics.recipe_run(7, "succeeded", 2.0)
        metrics.watch_runs(lambda: {"succeeded": 5, "failed": 1})
        lines = metrics.render().decode().splitlines()
    for sample in (
        'hub_webhooks_total{result="accepted"} 5.0',
        'hub_step_duration_seconds_count{action="request",connector="http",outcome="ok"} 2.0',
        'hub_step_duration_seconds_bucket{action="request",connector="http",le="0.25",outcome="ok"} 1.0',
        'hub_recipe_runs_total{recipe="7",status="succeeded"} 2.0',
        'hub_recipe_run_duration_seconds_sum{recipe="7"} 3.0',
        'hub_runs{status="succeeded"} 5.0',
        'hub_runs{status="failed"} 1.0',
    ):
        assert lines.count(sample) == 1, sample
    assert sum(line.startswith("hub_webhooks_total{") for line in lines) == 1
    assert sum(line.startswith("hub_runs{") for line in lines) == 2


def test_a_child_kept_before_a_fork_counts_in_the_forked_process_too() -> None:
    """Metrics.child keeps the children labels() gave; a forked process counting on one it inherited
    writes its own file, so each count is summed once."""
    with share_across_processes() as shared:
        metrics = Metrics()
        metrics.count_webhook("accepted")
        steps = metrics.child(metrics.step_seconds, "http", "request", "ok")
        steps.observe(0.2)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                metrics.count_webhook("accepted")
                steps.observe(0.3)
                code = 0
            finally:
                os._exit(code)
        assert os.waitpid(pid, 0)[1] == 0
        assert Path(shared, f"counter_{pid}.db").exists()
        metrics.count_webhook("accepted")
        lines = metrics.render().decode().splitlines()
    assert 'hub_webhooks_total{result="accepted"} 3.0' in lines
    assert 'hub_step_duration_seconds_count{action="request",connector="http",outcome="ok"} 2.0' in lines
    assert 'hub_step_duration_seconds_sum{action="request",connector="http",outcome="ok"} 0.5' in lines


def test_the_directory_is_private_new_each_time_and_removed_by_its_maker_only() -> None:
    before = values.ValueClass
    with share_across_processes() as first:
        assert stat.S_IMODE(os.stat(first).st_mode) == 0o700 and os.environ[MULTIPROC_ENV] == first
    assert not os.path.exists(first) and MULTIPROC_ENV not in os.environ
    assert values.ValueClass is before  # one process again: a plain registry

    work = ExitStack()
    second = work.enter_context(share_across_processes())
    assert second != first
    assert _in_child(work) == 0  # a forked process left the block...
    assert os.path.isdir(second)  # ...and the directory is still there for the others
    work.close()
    assert not os.path.exists(second)


def test_one_process_renders_its_own_registry() -> None:
    metrics = Metrics()
    metrics.webhooks.labels("accepted").inc()
    assert metrics.exposed is metrics.registry
    assert 'hub_webhooks_total{result="accepted"} 1.0' in metrics.render().decode()


def test_a_child_is_kept_per_metric_and_label_values(monkeypatch: Any) -> None:
    metrics = Metrics()
    kept = metrics.child(metrics.runs_finished, "succeeded")
    assert kept is metrics.runs_finished.labels("succeeded")
    monkeypatch.setattr(metrics.runs_finished, "labels", None)  # not asked again
    assert metrics.child(metrics.runs_finished, "succeeded") is kept
    assert metrics.child(metrics.polls, "succeeded") is metrics.polls.labels("succeeded")  # per metric
    kept.inc()
    metrics.child(metrics.runs_finished, "succeeded").inc()
    metrics.count_webhook("duplicate")
    scrape = metrics.render().decode()
    assert 'hub_runs_finished_total{status="succeeded"} 2.0' in scrape
    assert 'hub_webhooks_total{result="duplicate"} 1.0' in scrape


def test_directories_of_killed_hubs_are_removed_by_the_next_one(monkeypatch: Any, tmp_path: Path) -> None:
    """A hub killed by SIGKILL leaves its directory; the next one removes it, never one whose maker
    still runs, one without an owner file, or anything not named like ours."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    me = f"{os.getpid()} {(Path('/proc/self/stat').read_text().rpartition(')')[2].split()[19])}"
    dirs = {
        "hub-metrics-killed": f"{gone.pid} 12345",
        "hub-metrics-reused-pid": f"{os.getpid()} 1",  # a live pid, but not the process that made it
        "hub-metrics-running": me,
        "hub-metrics-older": None,  # made before owner files: cannot tell, left alone
        "other-killed": f"{gone.pid} 12345",
    }
    for name, owner in dirs.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "counter_1.db").write_bytes(b"")
        if owner is not None:
            (tmp_path / name / "owner").write_text(owner)
    with share_across_processes() as made:
        left = sorted(path.name for path in tmp_path.iterdir() if str(path) != made)
        assert (Path(made) / "owner").read_text().split() == me.split()
    assert left == ["hub-metrics-older", "hub-metrics-running", "other-killed"]
