"""HUB_CA_BUNDLE: a private CA trusted for outbound TLS, alongside the usual roots."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from connectors.email.pinning import tls_context
from hub.config import Settings
from hub.sdk import tls
from hub.sdk.errors import PermanentError
from hub.sdk.http import HttpClient
from tests.tls import private_ca_and_server


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def vendor(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A self-hosted vendor on 127.0.0.1 whose certificate a private CA signed: (base URL, CA file)."""
    ca, cert, key = private_ca_and_server(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.handle_error = lambda request, address: None  # type: ignore[method-assign]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}", ca
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_bundle_after() -> Iterator[None]:
    yield
    tls.trust_ca_bundle(None)


def test_private_ca_is_trusted_only_with_the_bundle(vendor: tuple[str, Path]) -> None:
    url, ca = vendor
    with pytest.raises(PermanentError, match="TLS certificate rejected"):
        HttpClient(allow_private=True).get(url + "/")
    tls.trust_ca_bundle(ca)
    assert HttpClient(allow_private=True).get(url + "/").content == b"hello"


def test_email_tls_trusts_the_bundle_too(vendor: tuple[str, Path]) -> None:
    url, ca = vendor
    port = int(url.rsplit(":", 1)[1])

    def handshake() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            tls_context().wrap_socket(raw, server_hostname="127.0.0.1").close()

    with pytest.raises(ssl.SSLCertVerificationError):
        handshake()
    tls.trust_ca_bundle(ca)
    handshake()


def test_bad_bundle_is_a_clear_startup_error(tmp_path: Path) -> None:
    missing, garbage = tmp_path / "missing.pem", tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(ValueError, match=r"HUB_CA_BUNDLE .*missing\.pem.*No such file"):
        Settings.from_env({"HUB_HOME": str(tmp_path), "HUB_CA_BUNDLE": str(missing)})
    with pytest.raises(ValueError, match=r"HUB_CA_BUNDLE .*garbage\.pem"):
        Settings.from_env({"HUB_HOME": str(tmp_path), "HUB_CA_BUNDLE": str(garbage)})


def test_good_bundle_is_read_into_settings(vendor: tuple[str, Path], tmp_path: Path) -> None:
    settings = Settings.from_env({"HUB_HOME": str(tmp_path), "HUB_CA_BUNDLE": str(vendor[1])})
    assert settings.ca_bundle == vendor[1]
    assert Settings.from_env({"HUB_HOME": str(tmp_path)}).ca_bundle is None


def test_runtime_trusts_the_bundle_of_its_settings(vendor: tuple[str, Path], tmp_path: Path) -> None:
    from hub.runtime import Runtime
    from tests.conftest import make_settings

    settings = make_settings(tmp_path / "home", f"sqlite:///{tmp_path / 'hub.db'}", ca_bundle=vendor[1])
    Runtime.create(settings).close()
    assert HttpClient(allow_private=True).get(vendor[0] + "/").content == b"hello"
