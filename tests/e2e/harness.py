"""Real processes on 127.0.0.1: a `hub serve` started as a user would, and a recording sink server."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.fernet import Fernet

HUB = [sys.executable, "-m", "hub"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """Records every request; `by_key` keeps the first body per Idempotency-Key, like a deduping vendor."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []
        self.by_key: dict[str, Any] = {}
        self.items: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, payload: Any) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                with sink.lock:
                    items = list(sink.items)
                self._answer(200, {"data": {"items": items}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if len(raw) < length:  # the sender died mid-request (a killed worker): no delivery
                    self.close_connection = True
                    return
                body = json.loads(raw or b"null")
                key = self.headers.get("Idempotency-Key")
                if sink.delay_s:
                    time.sleep(sink.delay_s)
                with sink.lock:
                    sink.requests.append({"path": self.path, "key": key, "body": body})
                    sink.by_key.setdefault(key, body)
                self._answer(200, {"ok": True, "key": key})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class HubProcess:
    """`hub serve` in a child process with its own HUB_HOME and database."""

    def __init__(self, home: Path, database_url: str | None = None, **env: str) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "HUB_HOME": str(home),
            "HUB_VAULT_KEYS": Fernet.generate_key().decode(),
            "HUB_ALLOW_PRIVATE_NETWORK": "1",
            "HUB_BASE_URL": self.url,
            "HUB_LEASE_S": "3",
            "HUB_SWEEP_INTERVAL_S": "0.5",
            "TMPDIR": str(home / "tmp"),  # what a killed hub leaves there (its metrics files) stays here
            **env,
        }
        if database_url:
            self.env["HUB_DATABASE_URL"] = database_url
        self.process: subprocess.Popen[bytes] | None = None
        self.log = home / "hub.log"

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [*HUB, *args], env=self.env, input=stdin, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def start(self) -> None:
        (self.home / "tmp").mkdir(parents=True, exist_ok=True)
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            [*HUB, "serve", "--port", str(self.port)], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"hub exited: {self.log.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError("hub did not become healthy in 60 s")

    def admin_headers(self) -> dict[str, str]:
        return admin_headers_via_cli(self.cli, "e2e")

    def serving_pids(self) -> set[int]:
        """Pids that announced they listen (`hub serve --processes N` has N of them)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return {int(pid) for pid in re.findall(r"hub listening on \S+ \(pid (\d+)\)", text)}

    def kill(self) -> None:
        """SIGKILL the hub; returns once nothing listens on its port (forked processes die with it)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.1)
        raise AssertionError(f"port {self.port} still answers 10 s after the hub was killed")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_until(check: Callable[[], bool], timeout_s: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def admin_headers_via_cli(cli: Callable[..., str], token_name: str) -> dict[str, str]:
    """An admin made with the CLI, as a new user would, and the API header of a token of theirs."""
    cli(
        "users",
        "create",
        "ops@example.com",
        "--role",
        "admin",
        "--password-stdin",
        stdin="correct horse battery\n",
    )
    token = cli("tokens", "create", "ops@example.com", "--name", token_name)
    assert token.startswith("hub_") and "\n" not in token
    return {"Authorization": f"Bearer {token}"}


Handler = Callable[[str, str, dict[str, str], bytes], tuple[int, Any]]


class VendorStub:
    """A vendor on 127.0.0.1: `handle` checks each request and answers; everything is recorded."""

    def __init__(self, handle: Handler) -> None:
        self.calls: list[dict[str, Any]] = []
        self.errors: list[str] = []
        stub = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                stub.calls.append(
                    {"method": self.command, "path": self.path, "headers": headers, "body": body}
                )
                try:
                    status, payload = handle(self.command, self.path, headers, body)
                except AssertionError as exc:  # a wrong request: recorded, and answered like a vendor would
                    stub.errors.append(f"{self.command} {self.path}: {exc}")
                    status, payload = 400, {"error": str(exc)}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def find(self, path: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if urlsplit(c["path"]).path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def add_connections(
    api: str, headers: dict[str, str], connections: list[tuple[str, str, dict[str, Any]]]
) -> None:
    """Create each (name, connector id, config) through the API, as a person would."""
    for name, connector_id, config in connections:
        made = requests.post(
            f"{api}/connections",
            json={"name": name, "connector": connector_id, "config": config},
            headers=headers,
            timeout=10,
        )
        assert made.status_code == 201, made.text


def only_run(api: str, headers: dict[str, str], recipe_id: int) -> dict[str, Any]:
    """The one run of a recipe, with its steps."""
    listing = requests.get(f"{api}/runs", params={"recipe_id": recipe_id}, headers=headers, timeout=10)
    [only] = listing.json()["runs"]
    return requests.get(f"{api}/runs/{only['id']}", headers=headers, timeout=10).json()


def run_step(run: dict[str, Any], name: str) -> dict[str, Any]:
    """One step of a run ({} while it has not started)."""
    return next((s for s in run["steps"] if s["id"] == name), {})


def connect(
    hub: HubProcess, headers: dict[str, str], name: str, connector: str, config: dict[str, Any]
) -> None:
    """Create one connection through the API of a running hub."""
    add_connections(f"{hub.url}/api/v1", headers, [(name, connector, config)])


def relay_recipe(sink_url: str) -> dict[str, Any]:
    return {
        "name": "Won deal -> sink",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {"id_field": "deal.id"}},
        "filter": "{{ event.deal.stage == 'won' }}",
        "steps": [
            {
                "id": "notify",
                "connector": "http",
                "action": "request",
                "input": {
                    "method": "POST",
                    "url": f"{sink_url}/deals",
                    "json": {
                        "deal": "{{ event.deal.id }}",
                        "amount": "{{ event.deal.amount }}",
                        "title": "Deal {{ event.deal.id }} won by {{ event.deal.owner | upper }}",
                    },
                },
            }
        ],
    }


def runs(hub: HubProcess, headers: dict[str, str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = requests.get(f"{hub.url}/api/v1/runs", headers=headers, params=params, timeout=10).json()
        found.extend(page["runs"])
        cursor = page.get("next_cursor")
        if not cursor:
            return found


def run_detail(hub: HubProcess, headers: dict[str, str], run_id: Any) -> dict[str, Any]:
    return requests.get(f"{hub.url}/api/v1/runs/{run_id}", headers=headers, timeout=10).json()


def finished(hub: HubProcess, headers: dict[str, str], count: int) -> bool:
    """At least `count` runs, all of them over."""
    found = runs(hub, headers)
    return len(found) >= count and all(r["status"] in ("succeeded", "failed", "filtered") for r in found)
