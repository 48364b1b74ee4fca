"""Hub processes of one scale-out deployment on 127.0.0.1: web servers, Celery workers, schedulers.

Shared by the scale tests, the cluster e2e test and bench/scale_workers.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet
from sqlalchemy import select

from hub.db.models import Lease, utcnow
from hub.db.session import Database
from tests.e2e.harness import HUB, admin_headers_via_cli, free_port, wait_until


@dataclass
class Proc:
    kind: str
    name: str
    popen: subprocess.Popen[bytes]
    url: str | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None


@dataclass
class Cluster:
    home: Path
    database_url: str
    broker_url: str
    queue: str
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "HUB_HOME": str(self.home),
            "HUB_DATABASE_URL": self.database_url,
            "HUB_VAULT_KEYS": Fernet.generate_key().decode(),
            "HUB_EXECUTOR": "celery",
            "HUB_BROKER_URL": self.broker_url,
            "HUB_CELERY_QUEUE": self.queue,
            "HUB_ALLOW_PRIVATE_NETWORK": "1",
            "HUB_LEASE_S": "5",
            "HUB_SWEEP_INTERVAL_S": "0.5",
            "HUB_SCHEDULER_LEASE_S": "3",
            "HUB_REDISPATCH_S": "30",
            "HUB_WORKERS": "4",
            **self.extra_env,
        }
        self.db = Database(self.database_url)

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [*HUB, *args], env=self.env, input=stdin, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def start(self, kind: str, *args: str, **env: str) -> Proc:
        """Start `hub web|worker|scheduler`; a web process is returned once /healthz answers."""
        name = f"{kind}{sum(1 for p in self.procs if p.kind == kind) + 1}"
        log = (self.home / f"{name}.log").open("ab")
        url = None
        argv = [*HUB, kind, *args]
        if kind == "web":
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            argv += ["--port", str(port), "--threads", "24"]
        popen = subprocess.Popen(argv, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT)
        proc = Proc(kind, name, popen, url)
        self.procs.append(proc)
        if url:
            wait_until(lambda: self._healthy(proc), timeout_s=60, what=f"{name} to answer")
        return proc

    def _healthy(self, proc: Proc) -> bool:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited: {self.log(proc)[-3000:]}")
        try:
            return requests.get(f"{proc.url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def log(self, proc: Proc) -> str:
        return (self.home / f"{proc.name}.log").read_text(errors="replace")

    def wait_worker_ready(self, proc: Proc, timeout_s: float = 60) -> None:
        def ready() -> bool:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited: {self.log(proc)[-3000:]}")
            return " ready." in self.log(proc)

        wait_until(ready, timeout_s=timeout_s, what=f"{proc.name} to consume")

    def leader(self) -> Proc | None:
        """The scheduler process holding an unexpired `scheduler` lease (owner is host:pid:nonce)."""
        with self.db.transaction() as session:
            lease = session.scalar(select(Lease).where(Lease.name == "scheduler"))
            owner, expires = (lease.owner, lease.expires_at) if lease else ("", None)
        if not owner or expires is None:
            return None
        pid = int(owner.split(":")[1])
        if expires < utcnow():
            return None
        return next((p for p in self.procs if p.pid == pid and p.kind == "scheduler"), None)

    def kill(self, proc: Proc) -> None:
        """SIGKILL: no cleanup, no lease given back, no message acknowledged."""
        proc.popen.send_signal(signal.SIGKILL)
        proc.popen.wait(10)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.alive():
                proc.popen.terminate()
        deadline = time.monotonic() + 20
        for proc in self.procs:
            try:
                proc.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(5)
        self.db.dispose()


def bootstrap(cluster: Cluster) -> dict[str, str]:
    """An admin and an API token, made with the CLI as an operator would."""
    cluster.cli("init")
    return admin_headers_via_cli(cluster.cli, "scale")


def relay_step(
    sink_url: str, path: str, body: dict[str, Any], connection: str | None = None
) -> dict[str, Any]:
    step: dict[str, Any] = {
        "id": "deliver",
        "connector": "http",
        "action": "request",
        "input": {"method": "POST", "url": f"{sink_url}{path}", "json": body},
    }
    if connection:
        step["connection"] = connection
    return step
