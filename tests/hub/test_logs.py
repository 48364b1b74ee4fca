"""Start-up and the scheduler's ticks stay quiet at INFO (APScheduler logs two lines per job run,
several a second; Alembic a few at every start) unless HUB_LIBRARY_LOG_LEVEL asks for them."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.config import Settings
from hub.logs import CHATTY_LIBRARIES, configure_logging
from hub.runtime import Runtime
from hub.scheduler import SCHEDULE_TICK_S, Scheduler


@pytest.fixture(autouse=True)
def restore_levels() -> Iterator[None]:
    names = ["", *CHATTY_LIBRARIES]
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def library_lines(settings: Settings, caplog: pytest.LogCaptureFixture) -> list[str]:
    """What APScheduler and Alembic log while a hub migrates, starts its scheduler and ticks."""
    configure_logging(settings)
    caplog.clear()
    rt = Runtime.create(settings)
    scheduler = Scheduler(rt)
    try:
        scheduler.start()
        time.sleep(SCHEDULE_TICK_S * 1.5)
    finally:
        scheduler.shutdown()
        rt.close()
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.name.startswith(CHATTY_LIBRARIES)]


def test_libraries_are_quiet_by_default(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings.from_env({"HUB_HOME": str(tmp_path)})
    assert library_lines(settings, caplog) == []


def test_a_setting_turns_library_logs_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings.from_env({"HUB_HOME": str(tmp_path), "HUB_LIBRARY_LOG_LEVEL": "info"})
    lines = library_lines(settings, caplog)
    assert any(line.startswith("alembic.") for line in lines)
    assert any(line.startswith("apscheduler.") and "Running job" in line for line in lines)


def test_bad_log_levels_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="HUB_LOG_LEVEL must be one of DEBUG, INFO"):
        Settings.from_env({"HUB_LOG_LEVEL": "loud"})
    with pytest.raises(ValueError, match="HUB_LIBRARY_LOG_LEVEL"):
        Settings.from_env({"HUB_LIBRARY_LOG_LEVEL": "chatty"})
