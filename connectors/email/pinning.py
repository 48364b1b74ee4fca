"""Connect SMTP and IMAP clients only to addresses the network guard allowed, and keep using them.

The hub's HTTP client guards every request; smtplib and imaplib open their own sockets, so this
module does the same for them: the host name is resolved once, each address is judged with
`hub.sdk.netguard`, and the socket is opened to a checked IP (no DNS rebinding between check and
connect), while TLS still verifies the certificate against the host name.
"""

from __future__ import annotations

import imaplib
import smtplib
import socket
import ssl
from typing import Any

from hub.sdk import tls
from hub.sdk.errors import BlockedAddressError, PermanentError, RetryableError
from hub.sdk.netguard import is_forbidden_address

Candidates = list[tuple[int, tuple[Any, ...]]]


def tls_context() -> ssl.SSLContext:
    """Certificate- and host-checking TLS (smtplib's and imaplib's defaults for STARTTLS check neither),
    trusting HUB_CA_BUNDLE's CAs too."""
    return tls.client_context()


def allowed_addresses(host: str, port: int, allow_private: bool) -> Candidates:
    """Every (family, sockaddr) of `host` the guard allows; BlockedAddressError when none is."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise RetryableError(f"cannot resolve {host}: {exc}") from exc
    allowed: Candidates = []
    refused: list[str] = []
    for family, _kind, _proto, _name, sockaddr in found:
        reason = None if allow_private else is_forbidden_address(str(sockaddr[0]))
        if reason:
            refused.append(f"{sockaddr[0]}: {reason}")
        elif (family, sockaddr) not in allowed:
            allowed.append((family, sockaddr))
    if not allowed:
        raise BlockedAddressError(
            f"refusing to connect to {host} ({'; '.join(refused)}); set HUB_ALLOW_PRIVATE_NETWORK to allow",
            details={"host": host, "refused": refused},
        )
    return allowed


def open_socket(candidates: Candidates, timeout: float | None) -> socket.socket:
    """A TCP socket to the first checked address that answers (IPv6 may be unroutable here)."""
    error: OSError = OSError("no address to connect to")
    for family, sockaddr in candidates:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            error = exc
        else:
            return sock
    raise error


class PinnedSMTP(smtplib.SMTP):
    candidates: Candidates = []
    _host: str  # smtplib's own (typeshed leaves it out): the name TLS checks the certificate against

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return open_socket(self.candidates, timeout)


class PinnedSMTPSSL(smtplib.SMTP_SSL):
    candidates: Candidates = []
    _host: str  # as in PinnedSMTP

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self.context.wrap_socket(open_socket(self.candidates, timeout), server_hostname=self._host)


def smtp_client(host: str, port: int, security: str, timeout: float, allow_private: bool) -> smtplib.SMTP:
    """Connected (greeting read), not yet secured by STARTTLS nor logged in."""
    candidates = allowed_addresses(host, port, allow_private)
    if security == "ssl":
        client: PinnedSMTP | PinnedSMTPSSL = PinnedSMTPSSL(timeout=timeout, context=tls_context())
    else:
        client = PinnedSMTP(timeout=timeout)
    client.candidates = candidates
    client._host = host  # what STARTTLS and SSL check the certificate against (connect() leaves it unset)
    client.connect(host, port)
    return client


class PinnedIMAP(imaplib.IMAP4):
    def __init__(self, host: str, port: int, timeout: float, candidates: Candidates) -> None:
        self.candidates = candidates
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return open_socket(self.candidates, timeout)


class PinnedIMAPSSL(imaplib.IMAP4_SSL):
    def __init__(self, host: str, port: int, timeout: float, candidates: Candidates) -> None:
        self.candidates = candidates
        super().__init__(host, port, ssl_context=tls_context(), timeout=timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return self.ssl_context.wrap_socket(open_socket(self.candidates, timeout), server_hostname=self.host)


def imap_client(host: str, port: int, security: str, timeout: float, allow_private: bool) -> imaplib.IMAP4:
    """Connected and, for `ssl`/`starttls`, encrypted; not logged in."""
    candidates = allowed_addresses(host, port, allow_private)
    if security == "ssl":
        return PinnedIMAPSSL(host, port, timeout, candidates)
    client = PinnedIMAP(host, port, timeout, candidates)
    if security == "starttls":
        try:
            if "STARTTLS" not in client.capabilities:
                raise PermanentError(f"IMAP server {host}:{port} does not offer STARTTLS; use ssl or none")
            client.starttls(tls_context())
        except BaseException:
            client.shutdown()
            raise
    return client
