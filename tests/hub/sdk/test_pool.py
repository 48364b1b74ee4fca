"""The guarded adapter's kept-alive connections (hub.sdk.pool) against real local servers."""

from __future__ import annotations

import gzip
import http.client
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from hub.sdk.http import HttpClient
from hub.sdk.netguard import Guard, GuardedAdapter, guarded_session
from hub.sdk.pool import Pool

Route = Callable[[BaseHTTPRequestHandler], None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def _any(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append((self.command, self.path, body, self.client_address[1]))  # type: ignore[attr-defined]
        self.server.routes.get(self.path, _send(b"ok"))(self)  # type: ignore[attr-defined]

    do_GET = do_POST = do_HEAD = _any

    def log_message(self, *args: object) -> None:
        pass


def _send(body: bytes, status: int = 200, **headers: str) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            h.send_header(name.replace("_", "-"), value)
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    return route


def _chunked(*parts: bytes, **headers: str) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        for name, value in {"Transfer-Encoding": "chunked", **headers}.items():
            h.send_header(name.replace("_", "-"), value)
        h.end_headers()
        for part in parts:
            h.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        h.wfile.write(b"0\r\n\r\n")

    return route


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.seen = []  # type: ignore[attr-defined]
    httpd.routes = {}  # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(server: ThreadingHTTPServer, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def _peers(server: ThreadingHTTPServer) -> list[int]:
    return [peer for *_rest, peer in server.seen]  # type: ignore[attr-defined]


def _client() -> HttpClient:
    return HttpClient(allow_private=True, session=guarded_session(allow_private=True))


def test_gzip_and_both_deflates_are_decoded(server: ThreadingHTTPServer) -> None:
    text = b'{"name": "\xe5\xae\xa2\xe6\x88\xb7"}' * 50
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    server.routes.update(  # type: ignore[attr-defined]
        {
            "/gzip": _send(gzip.compress(text), Content_Encoding="gzip"),
            "/two-members": _send(
                gzip.compress(text[:40]) + gzip.compress(text[40:]), Content_Encoding="gzip"
            ),
            "/zlib": _send(zlib.compress(text), Content_Encoding="deflate"),
            "/raw": _send(raw_deflate.compress(text) + raw_deflate.flush(), Content_Encoding="deflate"),
            "/chunked-gzip": _chunked(*_pieces(gzip.compress(text), 7), Content_Encoding="gzip"),
        }
    )
    http = _client()
    for path in ("/gzip", "/two-members", "/zlib", "/raw", "/chunked-gzip"):
        assert http.get(_url(server, path)).content == text, path
    assert len(set(_peers(server))) == 1  # every response read to its end: one connection throughout


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_only_the_encodings_decoded_are_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests offers br and zstd when their packages are installed; the pool decodes neither."""
    offered = requests.structures.CaseInsensitiveDict({"Accept-Encoding": "gzip, deflate, br, zstd"})
    monkeypatch.setattr(requests.sessions, "default_headers", lambda: offered.copy())
    assert guarded_session(allow_private=True).headers["Accept-Encoding"] == "gzip, deflate"


def test_an_unknown_encoding_is_handed_on_as_sent(server: ThreadingHTTPServer) -> None:
    server.routes["/br"] = _send(b"\x8b\x00\x80opaque", Content_Encoding="br")  # type: ignore[attr-defined]
    assert _client().get(_url(server, "/br")).content == b"\x8b\x00\x80opaque"


def test_a_body_that_fails_to_decode_is_an_error(server: ThreadingHTTPServer) -> None:
    server.routes["/bad"] = _send(b"not gzip at all", Content_Encoding="gzip")  # type: ignore[attr-defined]
    session = guarded_session(allow_private=True)
    with pytest.raises(requests.exceptions.ContentDecodingError):
        session.get(_url(server, "/bad"))
    assert session.get(_url(server, "/")).text == "ok"  # the connection was left clean


def test_chunked_and_head_responses_keep_the_connection(server: ThreadingHTTPServer) -> None:
    server.routes["/chunked"] = _chunked(b"he", b"llo ", b"world")  # type: ignore[attr-defined]
    http = _client()
    assert http.get(_url(server, "/chunked")).content == b"hello world"
    assert http.request("HEAD", _url(server, "/")).content == b""
    assert http.get(_url(server, "/")).content == b"ok"
    assert len(set(_peers(server))) == 1


def test_a_body_given_up_before_its_end_closes_its_connection(server: ThreadingHTTPServer) -> None:
    server.routes["/big"] = _send(b"x" * 200_000)  # type: ignore[attr-defined]
    session = guarded_session(allow_private=True)
    with session.get(_url(server, "/big"), stream=True) as resp:
        assert resp.raw.read(10) == b"x" * 10
    # Its unread rest must not be taken as the next call's response.
    assert session.get(_url(server, "/")).text == "ok"
    assert len(set(_peers(server))) == 2


def test_a_connection_the_server_closed_while_idle_is_not_reused(server: ThreadingHTTPServer) -> None:
    def close_after(h: BaseHTTPRequestHandler) -> None:
        _send(b"bye")(h)
        h.close_connection = True  # without saying so in a header: the client learns it when idle

    server.routes["/bye"] = close_after  # type: ignore[attr-defined]
    http = _client()
    assert http.get(_url(server, "/bye")).content == b"bye"
    time.sleep(0.2)  # the server's close reaches the idle socket
    assert http.post(_url(server, "/"), json={"a": 1}).content == b"ok"
    assert len(set(_peers(server))) == 2


def test_head_and_small_body_go_in_one_write_and_text_is_utf8(
    server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One write, so one segment and one wake-up of the server per call; a str body is UTF-8."""
    writes: list[bytes] = []
    send = http.client.HTTPConnection.send

    def recording(conn: http.client.HTTPConnection, data: bytes) -> None:
        writes.append(bytes(data))
        send(conn, data)

    monkeypatch.setattr(http.client.HTTPConnection, "send", recording)
    http_client = _client()
    assert http_client.post(_url(server, "/in"), data="客户 名称").content == b"ok"
    assert len(writes) == 1
    head, _, body = writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /in HTTP/1.1") and body == "客户 名称".encode()
    assert server.seen[-1][2] == body  # type: ignore[attr-defined]
    writes.clear()
    assert http_client.get(_url(server, "/")).content == b"ok"  # no body: the head alone
    assert len(writes) == 1 and writes[0].startswith(b"GET / HTTP/1.1")


def test_pools_past_the_bound_are_closed() -> None:
    adapter = GuardedAdapter(Guard(allow_private=True), pool_connections=2, pool_maxsize=2)
    request = requests.Request("GET", "http://a.example/").prepare()
    first = adapter.get_connection_with_tls_context(request, True)
    assert adapter.get_connection_with_tls_context(request, True) is first
    for host in ("b.example", "c.example"):
        adapter.get_connection_with_tls_context(requests.Request("GET", f"http://{host}/").prepare(), True)
    assert isinstance(first, Pool) and first.closed
    assert adapter.get_connection_with_tls_context(request, True) is not first


def test_a_url_without_a_usable_port_is_an_invalid_url() -> None:
    with pytest.raises(requests.exceptions.InvalidURL):
        guarded_session(allow_private=True).get("http://127.0.0.1:99999/")
