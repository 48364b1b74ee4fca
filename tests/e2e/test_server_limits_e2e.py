"""`hub serve` under slow and oversized clients: it keeps answering, and refuses a body before reading it.

Every client here is a raw socket on 127.0.0.1, so the test controls exactly which bytes the server
has seen when it answers."""

from __future__ import annotations

import contextlib
import json
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from hub.config import Settings
from tests.e2e.harness import HubProcess

pytestmark = pytest.mark.e2e
WEBHOOK_LIMIT = 1000
SLOW_CLIENTS = 500


def _hub(home: Path, **env: str) -> Iterator[HubProcess]:
    hub = HubProcess(home, HUB_MAX_WEBHOOK_BYTES=str(WEBHOOK_LIMIT), **env)
    hub.start()
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    yield from _hub(tmp_path_factory.mktemp("limits"))


@pytest.fixture(scope="module")
def impatient_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    yield from _hub(tmp_path_factory.mktemp("impatient"), HUB_CLIENT_TIMEOUT_S="2")


@pytest.fixture(scope="module")
def two_process_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    yield from _hub(tmp_path_factory.mktemp("two"), HUB_PROCESSES="2")


@pytest.fixture(scope="module")
def crowded_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    yield from _hub(tmp_path_factory.mktemp("crowded"), HUB_MAX_CONNECTIONS="50")


def _connect(hub: HubProcess) -> socket.socket:
    return socket.create_connection(("127.0.0.1", hub.port), timeout=5)


def _post_head(path: str, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _status_line(sock: socket.socket, timeout_s: float = 3) -> bytes:
    """The first line of the server's answer, or b'' when it sent none within `timeout_s`."""
    sock.settimeout(timeout_s)
    try:
        return sock.recv(4096).split(b"\r\n", 1)[0]
    except TimeoutError:
        return b""


def _enough_files(count: int) -> None:
    """Room for `count` more sockets in this process (the soft limit only, never above the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def _healthz_answers_while_clients_trickle(hub: HubProcess, clients: int) -> None:
    _enough_files(clients)
    slow: list[socket.socket] = []
    try:
        for _ in range(clients):
            sock = _connect(hub)
            sock.sendall(_post_head("/hooks/slow", f"Content-Length: {WEBHOOK_LIMIT}") + b"{")
            slow.append(sock)
        for round_ in range(5):
            for sock in slow:
                with contextlib.suppress(OSError):  # closed by the server to make room
                    sock.sendall(b" ")  # each keeps its request alive, never finishing it
            started = time.monotonic()
            answer = requests.get(f"{hub.url}/healthz", timeout=5)
            elapsed = time.monotonic() - started
            assert answer.status_code == 200, answer.text
            assert elapsed < 1.0, f"/healthz took {elapsed:.2f} s in round {round_}"
    finally:
        for sock in slow:
            sock.close()


def test_healthz_answers_within_a_second_while_500_clients_trickle_bodies(hub: HubProcess) -> None:
    _healthz_answers_while_clients_trickle(hub, SLOW_CLIENTS)


def test_two_processes_take_a_burst_of_new_connections(two_process_hub: HubProcess) -> None:
    """A process that stepped back from accepting looks again soon: with a strict balance and
    waitress's one-second loop turn, 500 new connections were taken one or two a second."""
    _healthz_answers_while_clients_trickle(two_process_hub, SLOW_CLIENTS)


def test_slow_clients_beyond_the_connection_limit_make_room_for_new_ones(crowded_hub: HubProcess) -> None:
    _healthz_answers_while_clients_trickle(crowded_hub, 120)


def test_a_declared_oversized_webhook_body_is_refused_before_it_is_sent(hub: HubProcess) -> None:
    """Answered from the headers alone; a client asking whether to go on is not told to."""
    for expect in ([], ["Expect: 100-continue"]):
        with _connect(hub) as sock:
            sock.sendall(_post_head("/hooks/any", f"Content-Length: {WEBHOOK_LIMIT + 1}", *expect))
            assert _status_line(sock) == b"HTTP/1.1 413 Request Entity Too Large"


def test_the_refusal_is_the_hubs_json_error_and_the_api_has_its_own_limit(hub: HubProcess) -> None:
    api_limit = Settings.max_api_bytes
    with _connect(hub) as sock:
        sock.sendall(_post_head("/api/v1/recipes", f"Content-Length: {api_limit + 1}"))
        sock.settimeout(3)
        answer = b""
        while chunk := sock.recv(4096):  # the server closes the connection after answering
            answer += chunk
    head, body = answer.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 413 ") and b"Content-Type: application/json" in head
    assert json.loads(body)["error"] == {
        "code": "payload_too_large",
        "message": f"the body is over this address's limit of {api_limit} bytes",
    }


def test_a_body_at_the_webhook_limit_is_read_and_the_api_has_its_own_limit(hub: HubProcess) -> None:
    """Only bodies over the route's limit are refused: these reach the application (404, 401)."""
    for path in ("/hooks/unknown", "/api/v1/recipes"):
        body = b"x" * (WEBHOOK_LIMIT if path.startswith("/hooks/") else WEBHOOK_LIMIT * 2)
        answer = requests.post(f"{hub.url}{path}", data=body, timeout=5)
        assert answer.status_code in (401, 404), (path, answer.status_code, answer.text)


def test_an_oversized_chunked_body_is_refused_before_it_ends(hub: HubProcess) -> None:
    with _connect(hub) as sock:
        sock.sendall(_post_head("/hooks/any", "Transfer-Encoding: chunked"))
        chunk = b"x" * 400
        for _ in range(3):  # 1200 bytes, and no final chunk: only a limit seen on the way answers
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        assert _status_line(sock) == b"HTTP/1.1 413 Request Entity Too Large"


def test_a_request_still_arriving_after_the_client_timeout_is_closed(impatient_hub: HubProcess) -> None:
    """A slowloris client sends a byte well within the idle timeout, forever; it is cut off anyway."""
    with _connect(impatient_hub) as sock:
        sock.sendall(_post_head("/hooks/slow", "Content-Length: 500"))
        deadline = time.monotonic() + 10
        closed = False
        while not closed and time.monotonic() < deadline:
            time.sleep(0.25)
            try:
                sock.sendall(b" ")
                sock.settimeout(0.01)
                closed = sock.recv(1) == b""
            except TimeoutError:
                continue
            except OSError:
                closed = True
        assert closed, "the server still holds a request that has been arriving for 10 s"


def test_a_silent_connection_is_closed_after_the_client_timeout(
    impatient_hub: HubProcess,
) -> None:
    with _connect(impatient_hub) as sock:
        sock.settimeout(10)
        started = time.monotonic()
        assert sock.recv(1) == b""  # closed by the server, with no answer
        assert time.monotonic() - started < 8
