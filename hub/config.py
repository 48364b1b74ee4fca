"""Settings from HUB_* environment variables, read once into one typed object."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hub.sdk.tls import check_ca_bundle

TRUE_WORDS = {"1", "true", "yes", "on"}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in TRUE_WORDS


def _wait_event_window_s(env: Mapping[str, str]) -> float:
    """HUB_WAIT_EVENT_WINDOW_S: seconds, a finite number above 0."""
    window = env.get("HUB_WAIT_EVENT_WINDOW_S") or "3600"
    try:
        window_s = float(window)
    except ValueError:
        window_s = 0.0
    if not 0 < window_s < float("inf"):
        raise ValueError(f"HUB_WAIT_EVENT_WINDOW_S must be a number of seconds above 0, not {window!r}")
    return window_s


def _log_level(name: str, value: str) -> str:
    level = value.strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"{name} must be one of {', '.join(LOG_LEVELS)}, not {value!r}")
    return level


def _positive_ints(env: Mapping[str, str], **defaults: int) -> dict[str, int]:
    """Each named variable as a whole number above 0, or its default when unset."""
    return _whole_numbers(env, low=1, **defaults)


def _whole_numbers(env: Mapping[str, str], *, low: int = 0, **defaults: int) -> dict[str, int]:
    """Each named variable as a whole number of at least `low`, or its default when unset."""
    values = {}
    for name, default in defaults.items():
        raw = (env.get(name) or "").strip()
        if not raw:
            values[name] = default
            continue
        try:
            values[name] = int(raw)
        except ValueError:
            raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
        if values[name] < low:
            raise ValueError(f"{name} must be at least {low}, not {raw!r}")
    return values


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
    # What one client may make a web process hold (hub/server_limits.py): request bodies per route,
    # open connections, how long a request may take to arrive, and how long a connection may sit idle
    # between requests (above the 60 s idle timeout of common load balancers, which reuse connections).
    max_api_bytes: int = 8 * 1024 * 1024
    max_form_bytes: int = 2 * 1024 * 1024
    max_connections: int = 1000
    client_timeout_s: int = 30
    idle_timeout_s: int = 75
    # Browser sessions end after this long without a request, and this long after sign-in at most.
    session_idle_s: int = 30 * 60
    session_max_s: int = 12 * 60 * 60
    base_url: str = "http://127.0.0.1:8000"
    workers: int = 8
    # A webhook's answer waits, once its event is stored, while the runs queued in its process are
    # more than this many seconds of their measured work, but never longer than ack_hold_s
    # (hub/engine/pacing.py): senders keep to the pace runs go out instead of building a backlog.
    ack_ahead_s: float = 1.0
    ack_hold_s: float = 1.0
    sweep_interval_s: float = 2.0
    lease_s: float = 60.0
    # Scale-out: which limiter holds connection limits (local = this process, database = the cluster),
    # how long the scheduler lease lasts, and how old a queued run gets before it is dispatched again.
    limiter: str = "local"
    scheduler_lease_s: float = 15.0
    redispatch_s: float = 10.0
    celery_queue: str = "hub.runs"
    # An event sent to a wait_for step's hook URL before its run parked is kept this long, for that run
    # to take when it parks; at most this many are kept (the oldest give way).
    wait_event_window_s: float = 3600.0
    wait_event_max: int = 10_000
    # How late a schedule slot missed while no scheduler led (a failover, a restart) is still fired.
    schedule_grace_s: float = 300.0
    # The hub's log level, and that of the libraries that talk a lot at INFO (APScheduler, Alembic).
    log_level: str = "INFO"
    library_log_level: str = "WARNING"
    # Extra CAs (PEM) trusted for outbound TLS to vendors, e.g. a self-hosted vendor's private CA.
    ca_bundle: Path | None = None
    # How long a SQLite writer waits for another holding the lock before the unit fails (transiently:
    # a run is taken up again, a webhook answered 503).
    sqlite_busy_timeout_s: float = 30.0
    # Finished runs and their events older than this many days are pruned into daily roll-ups
    # (hub/retention.py); 0 keeps them forever.
    retention_days: int = 30
    # Per-recipe Prometheus series are labelled for at most this many recipes; the rest share `other`.
    metrics_max_recipes: int = 100

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
            schedule_grace_s = float(env.get("HUB_SCHEDULE_GRACE_S") or 300)
            busy_timeout_s = float(env.get("HUB_SQLITE_BUSY_TIMEOUT_S") or 30)
            ack_ahead_s = float(env.get("HUB_ACK_AHEAD_S") or cls.ack_ahead_s)
            ack_hold_s = float(env.get("HUB_ACK_HOLD_S") or cls.ack_hold_s)
        except ValueError as exc:
            raise ValueError(
                "HUB_MAX_WEBHOOK_BYTES, HUB_WORKERS, HUB_LEASE_S, HUB_SWEEP_INTERVAL_S, "
                "HUB_SCHEDULER_LEASE_S, HUB_REDISPATCH_S, HUB_SCHEDULE_GRACE_S, "
                f"HUB_SQLITE_BUSY_TIMEOUT_S, HUB_ACK_AHEAD_S and HUB_ACK_HOLD_S must be numbers: {exc}"
            ) from exc
        for name, value in (("HUB_ACK_AHEAD_S", ack_ahead_s), ("HUB_ACK_HOLD_S", ack_hold_s)):
            if not 0 <= value <= 60:
                raise ValueError(f"{name} must be a number of seconds from 0 to 60, not {value:g}")
        window_s = _wait_event_window_s(env)
        if schedule_grace_s < 0:
            raise ValueError(f"HUB_SCHEDULE_GRACE_S must be 0 or more, not {schedule_grace_s:g}")
        log_level = _log_level("HUB_LOG_LEVEL", env.get("HUB_LOG_LEVEL") or "INFO")
        library_log_level = _log_level("HUB_LIBRARY_LOG_LEVEL", env.get("HUB_LIBRARY_LOG_LEVEL") or "WARNING")
        limits = _positive_ints(
            env,
            HUB_MAX_API_BYTES=cls.max_api_bytes,
            HUB_MAX_FORM_BYTES=cls.max_form_bytes,
            HUB_MAX_CONNECTIONS=cls.max_connections,
            HUB_CLIENT_TIMEOUT_S=cls.client_timeout_s,
            HUB_IDLE_TIMEOUT_S=cls.idle_timeout_s,
            HUB_SESSION_IDLE_S=cls.session_idle_s,
            HUB_SESSION_MAX_S=cls.session_max_s,
            HUB_WAIT_EVENT_MAX=cls.wait_event_max,
        )
        if busy_timeout_s <= 0:
            raise ValueError(f"HUB_SQLITE_BUSY_TIMEOUT_S must be more than 0, not {busy_timeout_s}")
        counts = _whole_numbers(
            env, HUB_RETENTION_DAYS=cls.retention_days, HUB_METRICS_MAX_RECIPES=cls.metrics_max_recipes
        )
        broker_url = env.get("HUB_BROKER_URL") or None
        if executor == "celery" and not broker_url:
            raise ValueError("HUB_EXECUTOR=celery needs HUB_BROKER_URL (redis://... or amqp://...)")
        if broker_url and not broker_url.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
            raise ValueError("HUB_BROKER_URL must start with redis://, rediss://, amqp:// or amqps://")
        limiter = (env.get("HUB_LIMITER") or ("database" if executor == "celery" else "local")).lower()
        if limiter not in ("local", "database"):
            raise ValueError(f"HUB_LIMITER must be 'local' or 'database', not {limiter!r}")
        ca_bundle = Path(env["HUB_CA_BUNDLE"]).expanduser() if env.get("HUB_CA_BUNDLE") else None
        if ca_bundle is not None:
            check_ca_bundle(ca_bundle)
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
            ack_ahead_s=ack_ahead_s,
            ack_hold_s=ack_hold_s,
            lease_s=lease_s,
            sweep_interval_s=sweep_s,
            limiter=limiter,
            scheduler_lease_s=scheduler_lease_s,
            redispatch_s=redispatch_s,
            celery_queue=(env.get("HUB_CELERY_QUEUE") or "hub.runs").strip(),
            wait_event_window_s=window_s,
            wait_event_max=limits["HUB_WAIT_EVENT_MAX"],
            schedule_grace_s=schedule_grace_s,
            log_level=log_level,
            library_log_level=library_log_level,
            max_api_bytes=limits["HUB_MAX_API_BYTES"],
            max_form_bytes=limits["HUB_MAX_FORM_BYTES"],
            max_connections=limits["HUB_MAX_CONNECTIONS"],
            client_timeout_s=limits["HUB_CLIENT_TIMEOUT_S"],
            idle_timeout_s=limits["HUB_IDLE_TIMEOUT_S"],
            session_idle_s=limits["HUB_SESSION_IDLE_S"],
            session_max_s=limits["HUB_SESSION_MAX_S"],
            ca_bundle=ca_bundle,
            sqlite_busy_timeout_s=busy_timeout_s,
            retention_days=counts["HUB_RETENTION_DAYS"],
            metrics_max_recipes=counts["HUB_METRICS_MAX_RECIPES"],
        )

    def ensure_home(self) -> None:
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)

    def flask_secret_key(self) -> str:
        """HUB_SECRET_KEY, or one generated once into HUB_HOME with mode 0600.

        The file appears whole or not at all: it is written aside and hard-linked into place, which
        fails if another process got there first. The processes of a first `hub serve` start
        together, and one that read the file while another was still writing it ran with an empty
        key: every page needing a session answered 500."""
        if self.secret_key:
            return self.secret_key
        self.ensure_home()
        path = self.home / "secret_key"
        if not path.exists():
            aside = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(aside, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            try:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(48))
                with contextlib.suppress(FileExistsError):  # another process's key is in place: use it
                    os.link(aside, path)
            finally:
                aside.unlink()
        key = path.read_text().strip()
        if not key:
            raise ValueError(f"{path} is empty: delete it to have a new key made, or set HUB_SECRET_KEY")
        return key
