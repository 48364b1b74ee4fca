"""Kept-alive HTTP/1.1 connections for the guarded adapter, on the standard library's http.client.

Every outbound call goes through requests' `HTTPAdapter.send` (the seam the `responses` test library
patches), which asks its adapter for a connection pool and calls the pool's `urlopen`. urllib3's
pool spends ~0.15 ms of CPU per call in Python (Timeout and Retry objects, its own request and
response layers over http.client), a tenth of a relayed webhook's whole cost; http.client on a kept
connection needs a third of that. `Pool` gives `HTTPAdapter.send` what it uses of urllib3's pool:
`urlopen` answering a response with `status`, `reason`, `headers`, `read`/`read1`/`stream`,
`release_conn` and `close`, and urllib3's exception types, so requests and `HttpClient` map every
failure as before. Sockets are opened by the network guard (resolved once, checked, pinned).
"""

from __future__ import annotations

import http.client
import os
import select
import socket
import ssl
import sys
import threading
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from requests.certs import where as default_ca_bundle
from urllib3 import HTTPHeaderDict
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import SSLError as Urllib3SSLError
from urllib3.util.timeout import Timeout

from hub.sdk import tls
from hub.sdk.response_head import Response

if TYPE_CHECKING:
    from hub.sdk.netguard import Guard

CertType = str | tuple[str, str] | None
_COALESCED_BODY = 64 * 1024  # a body up to this size is sent in the same write as the head


def tls_context(verify: bool | str, cert: CertType) -> ssl.SSLContext:
    """The context requests would verify with: certifi's roots (plus HUB_CA_BUNDLE and the system's
    when a bundle is set), a CA file or directory given as `verify`, or none at all for False."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif isinstance(verify, str):
        if not os.path.exists(verify):
            raise OSError(f"Could not find a suitable TLS CA certificate bundle, invalid path: {verify}")
        isdir = os.path.isdir(verify)
        context = ssl.create_default_context(
            cafile=None if isdir else verify, capath=verify if isdir else None
        )
    elif tls.ca_bundle() is not None:
        context = tls.client_context()
        context.load_verify_locations(cafile=default_ca_bundle())
    else:
        context = ssl.create_default_context(cafile=default_ca_bundle())
    if cert:
        certfile, keyfile = cert if isinstance(cert, tuple) else (cert, None)
        context.load_cert_chain(certfile, keyfile)
    return context


class GuardedConnection(http.client.HTTPConnection):
    """An http.client connection whose socket the guard opens, wrapped in TLS for https."""

    response_class = Response

    def __init__(self, pool: Pool) -> None:
        super().__init__(pool.host, pool.port)
        self.pool = pool
        self.default_port = 443 if pool.scheme == "https" else 80  # the Host header omits it
        self.hold_headers = False
        self._held: bytes | None = None

    def send(self, data: Any) -> None:
        """With `hold_headers` set, the head waits for the body's first bytes and goes in the same
        write: one segment and one wake-up of the server instead of two (http.client sends them apart)."""
        if self._held is not None:
            data, self._held = self._held + bytes(data), None
        elif self.hold_headers:
            self.hold_headers = False
            self._held = bytes(data)
            return
        super().send(data)

    def flush_held(self) -> None:
        """Send a head still held (the request had no body after all)."""
        self.hold_headers = False
        if self._held is not None:
            data, self._held = self._held, None
            super().send(data)

    def connect(self) -> None:
        sys.audit("http.client.connect", self, self.host, self.port)
        sock = self.pool.guard.connect(self, self.host, self.port, self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.pool.scheme == "https":
                sock = self.pool.context().wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def _dropped(sock: socket.socket) -> bool:
    """An idle kept connection that is readable was closed by the server (or sent junk): not reusable."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class Pool:
    """Idle kept-alive connections to one origin, reused last-in first-out."""

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int,
        guard: Guard,
        maxsize: int,
        verify: bool | str,
        cert: CertType,
    ) -> None:
        self.scheme, self.host, self.port = scheme, host, port
        self.guard = guard
        self.maxsize = maxsize
        self.verify, self.cert = verify, cert
        self._context: ssl.SSLContext | None = None
        self._idle: list[GuardedConnection] = []
        self._lock = threading.Lock()
        self.closed = False

    def context(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = tls_context(self.verify, self.cert)
        return self._context

    def _take(self) -> GuardedConnection:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if conn.sock is not None and not _dropped(conn.sock):
                    return conn
                conn.close()
        return GuardedConnection(self)

    def put(self, conn: GuardedConnection) -> None:
        """Keep `conn` for the next call (its response read to the end), or close it."""
        with self._lock:
            if not self.closed and conn.sock is not None and len(self._idle) < self.maxsize:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self.closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def urlopen(
        self,
        method: str,
        url: str,
        body: Any = None,
        headers: Any = None,
        timeout: Timeout | None = None,
        **_urllib3_options: Any,  # redirect, retries, preload_content... : requests sets them all off
    ) -> PooledResponse:
        """Send one request and read the status and headers; the body is read from the response."""
        timeout = (timeout or Timeout()).clone()
        timeout.start_connect()
        conn = self._take()
        if conn.sock is None:
            conn.timeout = Timeout.resolve_default_timeout(timeout.connect_timeout)
            try:
                conn.connect()
            except BaseException as exc:
                conn.close()
                reason = _connect_failure(conn, exc)
                if reason is None:
                    raise
                raise MaxRetryError(self, url, reason) from exc  # type: ignore[arg-type]
        read_timeout = Timeout.resolve_default_timeout(timeout.read_timeout)
        try:
            assert conn.sock is not None
            conn.sock.settimeout(read_timeout)
            if isinstance(body, str):
                body = body.encode()
            conn.hold_headers = isinstance(body, bytes) and 0 < len(body) <= _COALESCED_BODY
            conn.request(method, url, body=body, headers=headers or {})
            conn.flush_held()
            raw = conn.getresponse()
            assert isinstance(raw, Response)
        except TimeoutError as exc:
            conn.close()
            raise ReadTimeoutError(self, url, f"Read timed out. (read timeout={read_timeout})") from exc  # type: ignore[arg-type]
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise ProtocolError("Connection aborted.", exc) from exc
        except BaseException:
            conn.close()
            raise
        return PooledResponse(self, conn, raw, url, method)


def _connect_failure(conn: GuardedConnection, exc: BaseException) -> Exception | None:
    """The urllib3 error a failed connect is reported as (inside MaxRetryError, as urllib3's pool
    does with requests' no-retry policy), or None to let it through (the guard's refusal)."""
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return Urllib3SSLError(exc)
    if isinstance(exc, TimeoutError):
        return ConnectTimeoutError(conn, f"Connection to {conn.host} timed out during the TLS handshake")
    if isinstance(exc, Urllib3Error):  # the guard's DNS, connect and timeout errors
        return exc
    if isinstance(exc, OSError):
        return NewConnectionError(conn, f"Failed to establish a new connection: {exc}")  # type: ignore[arg-type]
    return None


class _Decoder:
    """Content-Encoding gzip or deflate (zlib-wrapped, or raw as some servers send it)."""

    def __init__(self, encoding: str) -> None:
        self.gzip = encoding == "gzip"
        self._started = False
        self._data = b""
        self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS if self.gzip else zlib.MAX_WBITS)

    def decode(self, data: bytes) -> bytes:
        if not data:
            return b""
        if not self.gzip and not self._started:
            self._data += data  # kept until the first output shows which deflate it is
            try:
                out = self._obj.decompress(data)
            except zlib.error:
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._obj.decompress(self._data)
            self._started = bool(out) or self._obj.eof
            return out
        out = self._obj.decompress(data)
        while self.gzip and self._obj.eof and self._obj.unused_data:  # a second gzip member
            rest = self._obj.unused_data
            self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out += self._obj.decompress(rest)
        return out

    def flush(self) -> bytes:
        return self._obj.flush()


def _decoders(content_encoding: str | None) -> list[_Decoder]:
    """Decoders for the encodings applied, outermost first; one it does not know stops decoding (the
    body is handed on as sent, as urllib3 does)."""
    names = [n.strip().lower() for n in (content_encoding or "").split(",") if n.strip()]
    if not names or any(n not in ("gzip", "x-gzip", "deflate") for n in names):
        return []
    return [_Decoder("gzip" if n in ("gzip", "x-gzip") else "deflate") for n in reversed(names)]


class PooledResponse:
    """A response as requests and `HttpClient` read it; its connection goes back to the pool once
    the body was read to the end, and is closed if the body is given up before."""

    def __init__(self, pool: Pool, conn: GuardedConnection, raw: Response, url: str, method: str) -> None:
        self.status = raw.status
        self.reason = raw.reason
        self.version = raw.version
        self.headers = HTTPHeaderDict()
        for name, value in raw.pairs:
            self.headers.add(name, value)
        self.connection: GuardedConnection | None = conn
        self._pool, self._raw, self._url = pool, raw, url
        self._decoders = _decoders(self.headers.get("Content-Encoding"))
        self._flushed = False
        if method == "HEAD":
            raw.read()  # no body: http.client only marks it read when asked for all of it

    @property
    def closed(self) -> bool:
        return self.connection is None

    def read1(self, amt: int = -1, decode_content: bool = True) -> bytes:
        """Some of the body (what one receive gives, at most `amt`); b"" at its end."""
        return self._next(lambda: self._raw.read1(amt), decode_content)

    def read(self, amt: int | None = None, decode_content: bool = True) -> bytes:
        """`amt` bytes of the body (all that is left for None); b"" at its end."""
        if amt is None:
            chunks = []
            while chunk := self.read1(64 * 1024, decode_content):
                chunks.append(chunk)
            return b"".join(chunks)
        return self._next(lambda: self._raw.read(amt), decode_content)

    def stream(self, amt: int | None = 64 * 1024, decode_content: bool = True) -> Iterator[bytes]:
        while chunk := self.read(amt, decode_content):
            yield chunk

    def _next(self, receive: Any, decode_content: bool) -> bytes:
        while True:
            data = self._receive(receive)
            if not (decode_content and self._decoders):
                return data
            try:
                if data:
                    for decoder in self._decoders:
                        data = decoder.decode(data)
                elif not self._flushed:
                    self._flushed = True
                    data = b""
                    for decoder in self._decoders:
                        data = decoder.decode(data) + decoder.flush()
                else:
                    return b""
            except zlib.error as exc:
                self.close()
                raise DecodeError(
                    f"Received response with content-encoding that failed to decode: {exc}"
                ) from exc
            if data or self._flushed:
                return data  # else the decoder holds the bytes so far: receive more

    def _receive(self, receive: Any) -> bytes:
        if self.connection is None:
            return b""
        try:
            data: bytes = receive()
        except TimeoutError as exc:
            self.close()
            raise ReadTimeoutError(self._pool, self._url, "Read timed out.") from exc  # type: ignore[arg-type]
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise ProtocolError(f"Connection broken: {exc!r}", exc) from exc
        if not data and self._complete():
            self._release()
        return data

    def _complete(self) -> bool:
        """The body was read to its end (3.11's read1 leaves a sized body open at length 0)."""
        return self._raw.isclosed() or self._raw.length == 0

    def _release(self) -> None:
        """Give the connection back: kept if the body was read to the end, else closed (the rest
        of the body would be read as the next call's response)."""
        conn, self.connection = self.connection, None
        if conn is None:
            return
        reusable = self._complete() and not self._raw.will_close
        self._raw.close()
        if reusable:
            self._pool.put(conn)
        else:
            conn.close()

    def release_conn(self) -> None:
        self._release()

    def close(self) -> None:
        self._release()
