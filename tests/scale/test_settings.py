"""Scale-out settings: a celery executor needs a broker, and picks the cluster-wide limiter."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hub.config import Settings
from hub.engine.cluster_limits import DatabaseLimiter
from hub.engine.limits import ConnectionLimiter
from hub.runtime import Runtime
from tests.conftest import make_settings


def test_celery_needs_a_broker_and_defaults_to_the_database_limiter() -> None:
    with pytest.raises(ValueError, match="HUB_BROKER_URL"):
        Settings.from_env({"HUB_EXECUTOR": "celery"})
    with pytest.raises(ValueError, match="redis://"):
        Settings.from_env({"HUB_EXECUTOR": "celery", "HUB_BROKER_URL": "kafka://x"})
    settings = Settings.from_env({"HUB_EXECUTOR": "celery", "HUB_BROKER_URL": "amqp://guest:guest@mq//"})
    assert settings.limiter == "database" and settings.redispatch_s == 60
    assert settings.celery_queue == "hub.runs" and settings.scheduler_lease_s == 15


def test_local_keeps_the_process_limiter_unless_told() -> None:
    assert Settings.from_env({}).limiter == "local"
    assert Settings.from_env({"HUB_LIMITER": "database"}).limiter == "database"
    with pytest.raises(ValueError, match="HUB_LIMITER"):
        Settings.from_env({"HUB_LIMITER": "redis"})
    with pytest.raises(ValueError, match="HUB_SCHEDULER_LEASE_S"):
        Settings.from_env({"HUB_SCHEDULER_LEASE_S": "soon"})


def test_the_runtime_wires_the_limiter_the_settings_ask_for(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    settings = make_settings(tmp_path / "home", url)
    local = Runtime.create(settings)
    shared = Runtime.create(replace(settings, limiter="database"))
    try:
        assert isinstance(local.limiter, ConnectionLimiter)
        assert isinstance(shared.limiter, DatabaseLimiter)
    finally:
        local.close()
        shared.close()
