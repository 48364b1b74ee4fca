"""The guard's address table and the pinned, guarded connections (local servers only)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from hub.sdk.errors import BlockedAddressError, PermanentError, RetryableError
from hub.sdk.http import HttpClient
from hub.sdk.netguard import (
    Guard,
    GuardedAdapter,
    guarded_session,
    is_forbidden_address,
)
from tests.tls import self_signed

FORBIDDEN = [
    "127.0.0.1",
    "127.255.255.254",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "100.64.0.1",
    "100.127.255.255",
    "169.254.1.1",
    "169.254.169.254",
    "100.100.100.200",
    "0.0.0.0",
    "0.1.2.3",
    "224.0.0.1",
    "239.255.255.250",
    "255.255.255.255",
    "240.0.0.1",
    "192.0.0.8",
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "198.18.0.1",
    "198.19.255.255",
    "::1",
    "[::1]",
    "::",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "fd12:3456::1",
    "fd00:ec2::254",
    "ff02::1",
    "2001:db8::1",
    "100::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::127.0.0.1",  # IPv4-compatible
    "::8.8.8.8",  # IPv4-compatible is deprecated even when public
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1:7f00:0:100::",  # local NAT64, RFC 6052 /48 layout of 127.0.0.1
    "64:ff9b:1::808:808",  # local-use NAT64 prefix itself
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "not-an-ip",
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "11.0.0.1",
    "100.63.255.255",
    "100.128.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.169.0.1",
    "2606:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo, client 8.8.8.8
]


@pytest.mark.parametrize("ip", FORBIDDEN)
def test_forbidden_addresses(ip: str) -> None:
    assert is_forbidden_address(ip)


@pytest.mark.parametrize("ip", ALLOWED)
def test_public_addresses(ip: str) -> None:
    assert is_forbidden_address(ip) is None


@pytest.mark.parametrize(
    ("ip", "words"),
    [
        ("169.254.169.254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("::ffff:169.254.169.254", "metadata"),
        ("::ffff:127.0.0.1", "loopback"),
        ("2002:7f00:1::", "6to4"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo"),
        ("100.64.0.1", "carrier-grade NAT"),
    ],
)
def test_reasons_name_the_problem(ip: str, words: str) -> None:
    assert words in (is_forbidden_address(ip) or "")


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "2130706433", "0x7f.1", "127.1", "localhost", "0.0.0.0"],
)
def test_loopback_spellings_refused_after_resolution(host: str) -> None:
    with pytest.raises(BlockedAddressError, match="refusing to connect"):
        HttpClient().get(f"http://{host}:9/")


def test_adapter_stays_patchable() -> None:
    assert issubclass(GuardedAdapter, requests.adapters.HTTPAdapter)
    assert "send" not in GuardedAdapter.__dict__  # `responses` patches HTTPAdapter.send


class _Hello(BaseHTTPRequestHandler):
    seen: list[str]

    def do_GET(self) -> None:
        self.server.seen.append(self.headers.get("Host", ""))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args: object) -> None:
        pass


def _serve(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def plain() -> Iterator[ThreadingHTTPServer]:
    yield from _serve(ThreadingHTTPServer(("127.0.0.1", 0), _Hello))


def _to_loopback(calls: list[str]):
    def resolver(host: str, port: int) -> list[tuple[int, tuple[str, int]]]:
        calls.append(host)
        return [(socket.AF_INET, ("127.0.0.2", port)), (socket.AF_INET, ("127.0.0.1", port))]

    return resolver


def test_connects_only_to_an_allowed_resolved_address_and_keeps_the_host(plain: ThreadingHTTPServer) -> None:
    calls: list[str] = []
    guard = Guard(resolver=_to_loopback(calls), is_forbidden=lambda ip: "test" if ip == "127.0.0.2" else None)
    port = plain.server_address[1]
    resp = HttpClient(session=guarded_session(guard)).get(f"http://api.example.com:{port}/")
    assert resp.content == b"hello"
    assert calls == ["api.example.com"]  # resolved once, then pinned
    assert plain.seen == [f"api.example.com:{port}"]  # type: ignore[attr-defined]


def test_refuses_when_every_resolved_address_is_forbidden(plain: ThreadingHTTPServer) -> None:
    guard = Guard(resolver=_to_loopback([]))
    port = plain.server_address[1]
    with pytest.raises(BlockedAddressError, match=r"api\.example\.com \(127\.0\.0\.2\): loopback"):
        HttpClient(session=guarded_session(guard)).get(f"http://api.example.com:{port}/")
    assert plain.seen == []  # type: ignore[attr-defined]


def test_guard_off_connects_normally(plain: ThreadingHTTPServer) -> None:
    session = guarded_session(Guard(allow_private=True, resolver=lambda h, p: pytest.fail("resolver used")))
    resp = HttpClient(allow_private=True, session=session).get(f"http://127.0.0.1:{plain.server_address[1]}/")
    assert resp.status == 200


def test_unguarded_session_refused_while_guard_is_on() -> None:
    with pytest.raises(BlockedAddressError, match="unguarded session"):
        HttpClient(session=requests.Session()).get("http://127.0.0.1:9/")


def test_tls_verifies_the_hostname_while_pinned_to_the_ip(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "vendor.example")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    served = _serve(server)
    next(served)
    try:
        port = server.server_address[1]
        sni: list[str] = []
        context.sni_callback = lambda sock, name, ctx: sni.append(name)  # type: ignore[assignment, misc]
        guard = Guard(
            resolver=lambda h, p: [(socket.AF_INET, ("127.0.0.1", p))], is_forbidden=lambda ip: None
        )
        session = guarded_session(guard)
        session.verify = str(cert)
        resp = HttpClient(session=session).get(f"https://vendor.example:{port}/")
        assert resp.content == b"hello"
        assert sni == ["vendor.example"]
        assert server.seen == [f"vendor.example:{port}"]  # type: ignore[attr-defined]
        # The certificate does not name the IP, so connecting by IP must fail verification.
        with pytest.raises(PermanentError, match="certificate"):
            HttpClient(session=session).get(f"https://127.0.0.1:{port}/")
    finally:
        next(served, None)


@pytest.mark.parametrize("allow_private", [False, True])
def test_a_hanging_dns_lookup_ends_with_the_call_deadline(
    allow_private: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """getaddrinfo has no timeout of its own: the lookup must not outlive the call's budget."""
    release = threading.Event()

    def hanging(host: str, port: int) -> list[tuple[int, tuple[str, int]]]:
        release.wait(5)
        return [(socket.AF_INET, ("127.0.0.1", port))]

    monkeypatch.setattr("hub.sdk.netguard.resolve", hanging)
    session = guarded_session(Guard(allow_private=allow_private))
    started = time.monotonic()
    try:
        with pytest.raises(
            RetryableError, match=r"DNS lookup for slow\.example took longer than the 0\.5 s"
        ) as info:
            HttpClient(allow_private=allow_private, session=session, timeout=0.5).get("http://slow.example/")
    finally:
        release.set()
    assert time.monotonic() - started < 2
    assert info.value.outcome_unknown is False  # nothing was sent
