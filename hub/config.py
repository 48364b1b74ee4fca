"""Settings from HUB_* environment variables, read once into one typed object."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TRUE_WORDS = {"1", "true", "yes", "on"}


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in TRUE_WORDS


@dataclass
class Settings:
    home: Path
    database_url: str
    secret_key: str | None = None
    vault_keys: str | None = None
    executor: str = "local"
    broker_url: str | None = None
    allow_private_network: bool = False
    max_webhook_bytes: int = 1024 * 1024
    base_url: str = "http://127.0.0.1:8000"
    workers: int = 8
    sweep_interval_s: float = 2.0
    lease_s: float = 60.0
    # Scale-out: which limiter holds connection limits (local = this process, database = the cluster),
    # how long the scheduler lease lasts, and how old a queued run gets before it is dispatched again.
    limiter: str = "local"
    scheduler_lease_s: float = 15.0
    redispatch_s: float = 10.0
    celery_queue: str = "hub.runs"
    # How long a SQLite writer waits for another holding the lock before the unit fails (transiently:
    # a run is taken up again, a webhook answered 503).
    sqlite_busy_timeout_s: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("HUB_HOME") or "./.hub").resolve()
        executor = (env.get("HUB_EXECUTOR") or "local").strip().lower()
        if executor not in ("local", "celery"):
            raise ValueError(f"HUB_EXECUTOR must be 'local' or 'celery', not {executor!r}")
        try:
            max_bytes = int(env.get("HUB_MAX_WEBHOOK_BYTES") or 1024 * 1024)
            workers = int(env.get("HUB_WORKERS") or 8)
            lease_s = float(env.get("HUB_LEASE_S") or 60)
            sweep_s = float(env.get("HUB_SWEEP_INTERVAL_S") or 2)
            scheduler_lease_s = float(env.get("HUB_SCHEDULER_LEASE_S") or 15)
            redispatch_s = float(env.get("HUB_REDISPATCH_S") or (60 if executor == "celery" else 10))
            busy_timeout_s = float(env.get("HUB_SQLITE_BUSY_TIMEOUT_S") or 30)
        except ValueError as exc:
            raise ValueError(
                "HUB_MAX_WEBHOOK_BYTES, HUB_WORKERS, HUB_LEASE_S, HUB_SWEEP_INTERVAL_S, "
                "HUB_SCHEDULER_LEASE_S, HUB_REDISPATCH_S and HUB_SQLITE_BUSY_TIMEOUT_S must be numbers: "
                f"{exc}"
            ) from exc
        if busy_timeout_s <= 0:
            raise ValueError(f"HUB_SQLITE_BUSY_TIMEOUT_S must be more than 0, not {busy_timeout_s}")
        broker_url = env.get("HUB_BROKER_URL") or None
        if executor == "celery" and not broker_url:
            raise ValueError("HUB_EXECUTOR=celery needs HUB_BROKER_URL (redis://... or amqp://...)")
        if broker_url and not broker_url.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
            raise ValueError("HUB_BROKER_URL must start with redis://, rediss://, amqp:// or amqps://")
        limiter = (env.get("HUB_LIMITER") or ("database" if executor == "celery" else "local")).lower()
        if limiter not in ("local", "database"):
            raise ValueError(f"HUB_LIMITER must be 'local' or 'database', not {limiter!r}")
        return cls(
            home=home,
            database_url=env.get("HUB_DATABASE_URL") or f"sqlite:///{home / 'hub.db'}",
            secret_key=env.get("HUB_SECRET_KEY") or None,
            vault_keys=env.get("HUB_VAULT_KEYS") or None,
            executor=executor,
            broker_url=broker_url,
            allow_private_network=_flag(env.get("HUB_ALLOW_PRIVATE_NETWORK")),
            max_webhook_bytes=max_bytes,
            base_url=(env.get("HUB_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
            workers=workers,
            lease_s=lease_s,
            sweep_interval_s=sweep_s,
            limiter=limiter,
            scheduler_lease_s=scheduler_lease_s,
            redispatch_s=redispatch_s,
            celery_queue=(env.get("HUB_CELERY_QUEUE") or "hub.runs").strip(),
            sqlite_busy_timeout_s=busy_timeout_s,
        )

    def ensure_home(self) -> None:
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)

    def flask_secret_key(self) -> str:
        """HUB_SECRET_KEY, or one generated once into HUB_HOME with mode 0600."""
        if self.secret_key:
            return self.secret_key
        self.ensure_home()
        path = self.home / "secret_key"
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip()
