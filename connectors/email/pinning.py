"""Connect SMTP and IMAP clients only to an address the network guard allowed, and keep using it.

The host name is resolved once, every address judged, and the socket opened to the chosen IP,
while TLS still verifies the certificate against the host name.
"""

from __future__ import annotations

import imaplib
import smtplib
import socket
import ssl
from typing import Any

from hub.sdk.errors import BlockedAddressError, RetryableError
from hub.sdk.netguard import is_forbidden_address


def tls_context() -> ssl.SSLContext:
    """Certificate- and host-checking TLS (smtplib's own default for STARTTLS checks neither)."""
    return ssl.create_default_context()


def pick_address(host: str, port: int, allow_private: bool) -> str:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise RetryableError(f"cannot resolve {host}: {exc}") from exc
    reasons = []
    for _family, _kind, _proto, _name, sockaddr in found:
        ip = str(sockaddr[0])
        reason = None if allow_private else is_forbidden_address(ip)
        if reason is None:
            return ip
        reasons.append(f"{ip}: {reason}")
    raise BlockedAddressError(
        f"refusing to connect to {host} ({'; '.join(reasons)}); set HUB_ALLOW_PRIVATE_NETWORK to allow"
    )


class PinnedSMTP(smtplib.SMTP):
    pinned_ip = ""

    def _get_socket(self, host: str, port: int, timeout: float) -> Any:
        return super()._get_socket(self.pinned_ip or host, port, timeout)


class PinnedSMTPSSL(smtplib.SMTP_SSL):
    pinned_ip = ""

    def _get_socket(self, host: str, port: int, timeout: float) -> Any:
        sock = socket.create_connection((self.pinned_ip or host, port), timeout)
        return self.context.wrap_socket(sock, server_hostname=self._host)


def smtp_client(host: str, port: int, security: str, timeout: float, allow_private: bool) -> smtplib.SMTP:
    ip = pick_address(host, port, allow_private)
    if security == "ssl":
        client: smtplib.SMTP = PinnedSMTPSSL(timeout=timeout, context=tls_context())
    else:
        client = PinnedSMTP(timeout=timeout)
    client.pinned_ip = ip  # type: ignore[attr-defined]
    client._host = host  # what STARTTLS and SSL check the certificate against (connect() leaves it unset)
    client.connect(host, port)
    return client


class PinnedIMAP(imaplib.IMAP4):
    def __init__(self, host: str, port: int, timeout: float, ip: str) -> None:
        self.pinned_ip = ip
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return socket.create_connection((self.pinned_ip, self.port), timeout)


class PinnedIMAPSSL(imaplib.IMAP4_SSL):
    def __init__(self, host: str, port: int, timeout: float, ip: str) -> None:
        self.pinned_ip = ip
        super().__init__(host, port, ssl_context=tls_context(), timeout=timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = socket.create_connection((self.pinned_ip, self.port), timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


def imap_client(host: str, port: int, security: str, timeout: float, allow_private: bool) -> imaplib.IMAP4:
    ip = pick_address(host, port, allow_private)
    if security == "ssl":
        return PinnedIMAPSSL(host, port, timeout, ip)
    client = PinnedIMAP(host, port, timeout, ip)
    if security == "starttls":
        client.starttls(tls_context())
    return client
