"""HttpClient: status classification with `responses`, transport behaviour against real local servers."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import requests
import responses
from requests.structures import CaseInsensitiveDict

from hub.sdk import http as http_module
from hub.sdk.errors import AuthError, BlockedAddressError, PermanentError, RetryableError
from hub.sdk.http import HttpClient, HttpResponse, dumps_json, redact_url
from hub.sdk.netguard import Guard, guarded_session

API = "https://api.example.com/v1"


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as rsps:
        yield rsps


def client(**kwargs: object) -> HttpClient:
    return HttpClient(base_url=API, vendor="Acme", **kwargs)  # type: ignore[arg-type]


# --- status classification -------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 204])
def test_success_statuses_return(mocked: responses.RequestsMock, status: int) -> None:
    mocked.get(f"{API}/items", status=status, body=b"" if status == 204 else b'{"ok": true}')
    resp = client().get("items")
    assert resp.status == status


@pytest.mark.parametrize(
    ("status", "kind"), [(400, PermanentError), (404, PermanentError), (422, PermanentError)]
)
def test_client_errors_are_permanent(mocked: responses.RequestsMock, status: int, kind: type) -> None:
    mocked.post(f"{API}/items", status=status, body="  email is\n invalid  ")
    with pytest.raises(kind) as info:
        client().post("items", json={"email": "x"})
    assert not isinstance(info.value, AuthError | RetryableError)
    assert info.value.status == status
    assert str(info.value) == f"Acme: email is invalid [HTTP {status}]"


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures(mocked: responses.RequestsMock, status: int) -> None:
    mocked.get(f"{API}/me", status=status, body="")
    with pytest.raises(AuthError) as info:
        client().get("me")
    assert info.value.status == status
    assert "[HTTP" in str(info.value)


def test_429_with_retry_after_seconds(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{API}/x", status=429, headers={"Retry-After": "17"})
    with pytest.raises(RetryableError) as info:
        client().get("x")
    assert (info.value.status, info.value.retry_after, info.value.outcome_unknown) == (429, 17.0, False)


def test_429_with_retry_after_http_date(mocked: responses.RequestsMock) -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    mocked.get(
        f"{API}/x", status=429, headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)}
    )
    with pytest.raises(RetryableError) as info:
        client().get("x")
    assert 100 < (info.value.retry_after or 0) <= 121


@pytest.mark.parametrize(("status", "retry_after"), [(500, None), (503, 5.0)])
def test_server_errors_are_retryable(mocked: responses.RequestsMock, status: int, retry_after: float) -> None:
    headers = {"Retry-After": "5"} if retry_after else {}
    mocked.get(f"{API}/x", status=status, headers=headers, body="oops")
    with pytest.raises(RetryableError) as info:
        client().get("x")
    assert (info.value.status, info.value.retry_after) == (status, retry_after)


def test_error_parser_message_and_code(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{API}/x", status=422, json={"error": {"message": "Invalid email", "code": "E42"}})

    def parse(resp: HttpResponse) -> tuple[str, str | None]:
        err = resp.json()["error"]
        return err["message"], err["code"]

    with pytest.raises(PermanentError) as info:
        client(error_parser=parse).post("x", json={})
    assert str(info.value) == "Acme: Invalid email (code E42) [HTTP 422]"
    assert info.value.vendor_code == "E42"


def test_expected_and_raise_for_status_false(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{API}/gone", status=404)
    mocked.get(f"{API}/boom", status=500)
    assert client().get("gone", expected=[404]).status == 404
    assert client().get("boom", raise_for_status=False).status == 500


# --- bodies, headers, URLs -------------------------------------------------------------------


def test_decimal_body_is_exact_and_dates_are_iso(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{API}/invoices", json={"ok": True})
    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
    client().post(
        "invoices", json={"amount": Decimal("12345678901234567.89"), "at": when, "n": [Decimal("1E+3")]}
    )
    body = mocked.calls[0].request.body
    assert b"12345678901234567.89" in body
    assert json.loads(body) == {
        "amount": 12345678901234567.89,
        "at": "2024-05-01T12:30:00+00:00",
        "n": [1000.0],
    }
    assert dumps_json({"a": Decimal("0.10")}) == b'{"a":0.10}'
    assert mocked.calls[0].request.headers["Content-Type"] == "application/json"


def test_response_json_gives_decimal(mocked: responses.RequestsMock) -> None:
    mocked.get(
        f"{API}/balance", body=b'{"amount": 12345678901234567.89, "n": 3}', content_type="application/json"
    )
    resp = client().get("balance")
    assert resp.is_json
    assert resp.json() == {"amount": Decimal("12345678901234567.89"), "n": 3}


def test_text_uses_charset(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{API}/t", body="é".encode("latin-1"), content_type="text/plain; charset=latin-1")
    assert client().get("t").text == "é"


def test_idempotency_key_header(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{API}/charges", json={})
    client().post("charges", json={}, idempotency_key="run-1:step-2")
    assert mocked.calls[0].request.headers["Idempotency-Key"] == "run-1:step-2"


@pytest.mark.parametrize("path", ["items", "/items", "items?page=2"])
def test_relative_urls_join_base_url(mocked: responses.RequestsMock, path: str) -> None:
    mocked.get(f"{API}/items", json=[])
    HttpClient(base_url=API + "/").get(path)
    assert mocked.calls[0].request.url.startswith("https://api.example.com/v1/items")


def test_absolute_url_ignores_base_url(mocked: responses.RequestsMock) -> None:
    mocked.get("https://files.example.com/a", body=b"x")
    assert client().get("https://files.example.com/a").content == b"x"


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://example.com/"])
def test_non_http_schemes_refused(url: str) -> None:
    with pytest.raises(PermanentError, match="only http and https"):
        HttpClient().get(url)


def test_relative_url_without_base_url_refused() -> None:
    with pytest.raises(PermanentError, match="base_url"):
        HttpClient().get("items")


def test_max_response_bytes(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{API}/big", body=b"x" * 2000)
    with pytest.raises(PermanentError, match="response larger than 1000 bytes"):
        client(max_response_bytes=1000).get("big")


def test_logs_one_redacted_line(mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture) -> None:
    mocked.get(f"{API}/accounts/s3cr3t-id", status=400, body="bad account s3cr3t-id")
    caplog.set_level(logging.INFO, logger="hub.http")
    with pytest.raises(PermanentError) as info:
        client(secrets=["s3cr3t-id"]).get("accounts/s3cr3t-id", params={"api_key": "abc123", "page": 2})
    assert "s3cr3t" not in str(info.value)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "hub.http"]
    assert line.startswith(
        "GET https://api.example.com/v1/accounts/[REDACTED]?api_key=[REDACTED]&page=2 -> 400"
    )
    assert "abc123" not in line
    assert redact_url("https://u:pw@h/x?token=t&q=1") == "https://u:[REDACTED]@h/x?token=[REDACTED]&q=1"
    assert redact_url("https://h/x?api_key=k&access_key=a&q=1") == (
        "https://h/x?api_key=[REDACTED]&access_key=[REDACTED]&q=1"
    )


# --- real local servers -----------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    peer: int


@dataclass
class Server:
    httpd: ThreadingHTTPServer
    routes: dict[str, Callable[[BaseHTTPRequestHandler], None]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def reply(h: BaseHTTPRequestHandler, status: int = 200, body: bytes = b"ok", **headers: str) -> None:
    h.send_response(status)
    for name, value in {"Content-Length": str(len(body)), **headers}.items():
        h.send_header(name.replace("_", "-"), value)
    h.end_headers()
    h.wfile.write(body)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def handle_one(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        state: Server = self.server.state  # type: ignore[attr-defined]
        state.seen.append(Seen(self.command, self.path, dict(self.headers), body, self.client_address[1]))
        route = state.routes.get(urlsplit(self.path).path)
        try:
            route(self) if route else reply(self, 200, json.dumps(dict(self.headers)).encode())
        except OSError:
            self.close_connection = True  # the client gave up, as the test intended

    do_GET = do_POST = do_PUT = do_DELETE = handle_one

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def make_server() -> Iterator[Callable[[], Server]]:
    started: list[ThreadingHTTPServer] = []

    def make() -> Server:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
        httpd.state = state = Server(httpd)  # type: ignore[attr-defined]
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        started.append(httpd)
        return state

    yield make
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server(make_server: Callable[[], Server]) -> Server:
    return make_server()


def test_guard_on_refuses_loopback_before_connecting(server: Server) -> None:
    with pytest.raises(
        BlockedAddressError, match=r"refusing to connect to 127\.0\.0\.1 \(127\.0\.0\.1\): loopback"
    ):
        HttpClient().get(server.url("/"))
    assert server.seen == []


def test_guard_off_reaches_local_server(server: Server) -> None:
    assert HttpClient(allow_private=True).get(server.url("/")).status == 200
    assert len(server.seen) == 1


def test_guard_checks_the_resolved_address(server: Server) -> None:
    guard = Guard(resolver=lambda host, port: [(socket.AF_INET, ("127.0.0.1", port))])
    with pytest.raises(BlockedAddressError, match=r"public\.example \(127\.0\.0\.1\)"):
        HttpClient(session=guarded_session(guard)).get(server.url("/", host="public.example"))
    assert server.seen == []


def test_redirect_to_forbidden_address_refused(server: Server) -> None:
    target = f"http://127.0.0.2:{server.port}/ok"
    server.routes["/jump"] = lambda h: reply(h, 302, b"", Location=target)
    guard = Guard(is_forbidden=lambda ip: "forbidden by test" if ip == "127.0.0.2" else None)
    with pytest.raises(BlockedAddressError, match=r"127\.0\.0\.2.*forbidden by test"):
        HttpClient(session=guarded_session(guard)).get(server.url("/jump"))
    assert [s.path for s in server.seen] == ["/jump"]


def _auth(prep: object) -> None:
    prep.headers["Authorization"] = "Bearer tok"  # type: ignore[attr-defined]
    prep.headers["X-Vendor-Sign"] = "sig"  # type: ignore[attr-defined]


def test_cross_host_redirect_drops_credentials(make_server: Callable[[], Server]) -> None:
    a, b = make_server(), make_server()
    a.routes["/jump"] = lambda h: reply(h, 302, b"", Location=b.url("/landing"))
    headers = {"X-Api-Key": "k", "X-Trace": "t1"}
    HttpClient(allow_private=True, auth=_auth, default_headers=headers).get(a.url("/jump"))
    assert a.seen[0].headers["Authorization"] == "Bearer tok"
    landed = b.seen[0].headers
    assert "Authorization" not in landed and "X-Api-Key" not in landed and "X-Vendor-Sign" not in landed
    assert landed["X-Trace"] == "t1"


def test_cross_host_redirect_drops_secret_looking_headers_the_step_typed(
    make_server: Callable[[], Server],
) -> None:
    """Headers a step adds itself are judged by the same name rule as everything redacted."""
    a, b = make_server(), make_server()
    a.routes["/jump"] = lambda h: reply(h, 302, b"", Location=b.url("/landing"))
    typed = {"X-Access-Key": "ak-1", "X-Session-Id": "s-1", "X-Trace": "t1"}
    HttpClient(allow_private=True).get(a.url("/jump"), headers=typed)
    assert a.seen[0].headers["X-Access-Key"] == "ak-1"
    landed = b.seen[0].headers
    assert "X-Access-Key" not in landed and "X-Session-Id" not in landed and landed["X-Trace"] == "t1"


def test_allowed_hosts_refuse_credentials_elsewhere_and_bound_redirects(
    make_server: Callable[[], Server],
) -> None:
    a, b = make_server(), make_server()
    with pytest.raises(PermanentError, match=r"credentials to localhost: not one of its allowed hosts"):
        HttpClient(allow_private=True, auth=_auth, allowed_hosts=["127.0.0.1"]).get(a.url("/", "localhost"))
    assert a.seen == []
    # Both servers are on 127.0.0.1 (other ports): an allowed host keeps credentials across ports.
    a.routes["/jump"] = lambda h: reply(h, 302, b"", Location=b.url("/landing"))
    HttpClient(allow_private=True, auth=_auth, allowed_hosts=["127.0.0.1"]).get(a.url("/jump"))
    assert b.seen[0].headers["Authorization"] == "Bearer tok"
    a.routes["/away"] = lambda h: reply(h, 302, b"", Location=b.url("/gone", "localhost"))
    HttpClient(allow_private=True, auth=_auth, allowed_hosts=["127.0.0.1"]).get(a.url("/away"))
    assert b.seen[1].path == "/gone" and "Authorization" not in b.seen[1].headers


def test_same_host_redirect_keeps_credentials(server: Server) -> None:
    server.routes["/jump"] = lambda h: reply(h, 301, b"", Location="/landing")
    HttpClient(allow_private=True, auth=_auth, default_headers={"X-Api-Key": "k"}).get(server.url("/jump"))
    landed = server.seen[1]
    assert landed.path == "/landing"
    assert landed.headers["Authorization"] == "Bearer tok" and landed.headers["X-Api-Key"] == "k"


def test_303_turns_post_into_get_and_307_keeps_it(server: Server) -> None:
    server.routes["/see-other"] = lambda h: reply(h, 303, b"", Location="/result")
    server.routes["/temporary"] = lambda h: reply(h, 307, b"", Location="/again")
    http = HttpClient(allow_private=True)
    http.post(server.url("/see-other"), json={"a": 1})
    http.post(server.url("/temporary"), json={"a": 1})
    assert [(s.method, s.path, s.body) for s in server.seen] == [
        ("POST", "/see-other", b'{"a":1}'),
        ("GET", "/result", b""),
        ("POST", "/temporary", b'{"a":1}'),
        ("POST", "/again", b'{"a":1}'),
    ]
    assert "Content-Type" not in server.seen[1].headers


def test_too_many_redirects(server: Server) -> None:
    server.routes["/loop"] = lambda h: reply(h, 302, b"", Location="/loop")
    with pytest.raises(PermanentError, match="more than 2 redirects"):
        HttpClient(allow_private=True, max_redirects=2).get(server.url("/loop"))
    assert len(server.seen) == 3


def test_read_timeout_outcome_unknown(server: Server) -> None:
    server.routes["/slow"] = lambda h: (time.sleep(1.5), reply(h))
    with pytest.raises(RetryableError) as info:
        HttpClient(allow_private=True, timeout=0.4).post(server.url("/slow"), json={})
    assert info.value.outcome_unknown is True


def test_connection_refused_outcome_known() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(RetryableError) as info:
        HttpClient(allow_private=True).post(f"http://127.0.0.1:{port}/", json={})
    assert info.value.outcome_unknown is False
    assert "could not connect" in str(info.value)


def _drip(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Length", "200")
    h.end_headers()
    for _ in range(200):
        h.wfile.write(b"x")
        h.wfile.flush()
        time.sleep(0.02)


def test_slow_drip_body_aborted_at_total_deadline(server: Server) -> None:
    server.routes["/drip"] = _drip
    started = time.monotonic()
    with pytest.raises(RetryableError, match="time budget") as info:
        HttpClient(allow_private=True, timeout=0.8).get(server.url("/drip"))
    assert info.value.outcome_unknown is True
    assert time.monotonic() - started < 2.5


def _unsized(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Connection", "close")
    h.end_headers()
    h.wfile.write(b"y" * 50_000)
    h.close_connection = True


def test_oversized_body_refused_with_and_without_length(server: Server) -> None:
    server.routes["/sized"] = lambda h: reply(h, 200, b"x" * 50_000)
    server.routes["/unsized"] = _unsized
    http = HttpClient(allow_private=True, max_response_bytes=10_000)
    for path in ("/sized", "/unsized"):
        with pytest.raises(PermanentError, match="response larger than 10000 bytes"):
            http.get(server.url(path))


def test_environment_proxies_ignored(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://proxy.invalid:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert HttpClient(allow_private=True).get(server.url("/direct")).status == 200
    assert server.seen[0].path == "/direct"  # origin-form: no proxy in between


def test_keep_alive_spans_clients(server: Server) -> None:
    HttpClient(allow_private=True).get(server.url("/"))
    HttpClient(allow_private=True).get(server.url("/"))
    assert server.seen[0].peer == server.seen[1].peer  # same pooled connection from shared_session


@pytest.mark.parametrize(
    ("url", "params", "body"),
    [
        ("https://API.example.com/v1/客户 名称?q=a b&x=%7E", None, b'{"a":1}'),
        ("https://api.example.com", {"page": 2, "tags": ["a", "b"]}, None),
        ("https://user:pa ss@api.example.com/path#frag", [("k", "v")], "text body"),
        ("https://münchen.example/straße", None, None),
    ],
)
def test_calls_are_prepared_as_requests_prepares_them(url: str, params: object, body: object) -> None:
    """`_prepare` skips the cookie jar and hooks and keeps prepared URLs per URL: it must give what
    requests' own Request.prepare gives, the second time (from the cache) as the first."""
    headers = CaseInsensitiveDict({"Content-Type": "application/json", "X-Trace": "t1"})
    expected = requests.Request("POST", url, headers=headers, params=params, data=body).prepare()
    for _ in range(2):
        prepared = http_module._prepare("post", url, headers, params, body)
        assert (prepared.method, prepared.url, prepared.body) == (
            expected.method,
            expected.url,
            expected.body,
        )
        assert dict(prepared.headers) == dict(expected.headers)


def test_an_unpreparable_url_fails_every_time() -> None:
    for _ in range(2):
        with pytest.raises(requests.exceptions.InvalidURL):
            http_module._prepare("GET", "http://*.example.com/", CaseInsensitiveDict(), None, None)
