"""Outbound network guard: connectors must not be steered at the hub's own network (SSRF).

Recipes let users type URLs, and vendors answer with redirects, so every connection the hub
opens is checked here: the host is resolved once, each address is classified, and the socket
is opened to exactly the address that passed (pinned), so DNS rebinding between the check and
the connect cannot swap in an internal address. Hostnames stay untouched for the Host header,
TLS SNI and certificate checks.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3.exceptions import (
    ConnectTimeoutError,
    LocationValueError,
    NameResolutionError,
    NewConnectionError,
)
from urllib3.util.connection import allowed_gai_family

from hub.sdk.errors import BlockedAddressError
from hub.sdk.pool import CertType, Pool

Resolver = Callable[[str, int], list[tuple[int, tuple[Any, ...]]]]
Policy = Callable[[str], str | None]

_V4, _V6 = ipaddress.IPv4Network, ipaddress.IPv6Network

_METADATA = {
    ipaddress.ip_address("169.254.169.254"): "cloud metadata endpoint",
    ipaddress.ip_address("100.100.100.200"): "cloud metadata endpoint (Alibaba)",
    ipaddress.ip_address("fd00:ec2::254"): "cloud metadata endpoint (AWS IPv6)",
}

# Explicit tables, not ipaddress.is_private: its lists changed between Python patch releases.
_V4_RANGES = [
    (_V4("0.0.0.0/8"), "unspecified ('this network')"),
    (_V4("10.0.0.0/8"), "private network (RFC 1918)"),
    (_V4("100.64.0.0/10"), "carrier-grade NAT (RFC 6598)"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link-local"),
    (_V4("172.16.0.0/12"), "private network (RFC 1918)"),
    (_V4("192.0.0.0/24"), "IETF protocol assignments"),
    (_V4("192.0.2.0/24"), "documentation range"),
    (_V4("192.168.0.0/16"), "private network (RFC 1918)"),
    (_V4("198.18.0.0/15"), "benchmarking range"),
    (_V4("198.51.100.0/24"), "documentation range"),
    (_V4("203.0.113.0/24"), "documentation range"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("255.255.255.255/32"), "broadcast"),
    (_V4("240.0.0.0/4"), "reserved"),
]

_V6_RANGES = [
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    (_V6("fc00::/7"), "private network (unique local)"),
    (_V6("fe80::/10"), "link-local"),
    (_V6("fec0::/10"), "site-local (deprecated)"),
    (_V6("ff00::/8"), "multicast"),
    (_V6("100::/64"), "discard-only range"),
    (_V6("2001:2::/48"), "benchmarking range"),
    (_V6("2001:10::/28"), "non-routable identifier (ORCHID)"),
    (_V6("2001:20::/28"), "non-routable identifier (ORCHIDv2)"),
    (_V6("2001:db8::/32"), "documentation range"),
    (_V6("3fff::/20"), "documentation range"),
]

_GLOBAL_UNICAST = _V6("2000::/3")
_NAT64_WKP = _V6("64:ff9b::/96")
_NAT64_LOCAL = _V6("64:ff9b:1::/48")


def _judge_v4(addr: ipaddress.IPv4Address) -> str | None:
    if addr in _METADATA:
        return _METADATA[addr]
    for net, reason in _V4_RANGES:
        if addr in net:
            return reason
    return None


def _embedded_v4(addr: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """Every IPv4 address an IPv6 form may carry to the wire (mapped, NAT64, 6to4, Teredo...)."""
    n = int(addr)
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if addr.ipv4_mapped is not None:
        found.append(("IPv4-mapped", addr.ipv4_mapped))
    elif n >> 32 == 0 and n > 1:
        found.append(("IPv4-compatible", ipaddress.IPv4Address(n)))
    if addr in _NAT64_WKP:
        found.append(("NAT64", ipaddress.IPv4Address(n & 0xFFFFFFFF)))
    if addr in _NAT64_LOCAL:
        # RFC 6052 /48 layout: v4 bits sit at 48-63 and 72-87 (skipping the u-octet); some
        # deployments put it in the last 32 bits instead, so judge both.
        high, low = (n >> 64) & 0xFFFF, (n >> 40) & 0xFFFF
        found.append(("local NAT64", ipaddress.IPv4Address((high << 16) | low)))
        found.append(("local NAT64", ipaddress.IPv4Address(n & 0xFFFFFFFF)))
    if addr.sixtofour is not None:
        found.append(("6to4", addr.sixtofour))
    if addr.teredo is not None:
        found.append(("Teredo", addr.teredo[1]))
    return found


def _judge_v6(addr: ipaddress.IPv6Address) -> str | None:
    if addr in _METADATA:
        return _METADATA[addr]
    for net, reason in _V6_RANGES[:2]:
        if addr in net:
            return reason
    for label, v4 in _embedded_v4(addr):
        v4_reason = _judge_v4(v4)
        if v4_reason:
            return f"{v4_reason} ({label} {v4})"
    if addr.ipv4_mapped is not None or addr in _NAT64_WKP:
        return None  # a public IPv4 address written in IPv6 form
    if int(addr) >> 32 == 0:
        return "deprecated IPv4-compatible address"
    if addr in _NAT64_LOCAL:
        return "local-use NAT64 prefix"
    for net, reason in _V6_RANGES:
        if addr in net:
            return reason
    if addr not in _GLOBAL_UNICAST:
        return "outside global unicast space (reserved)"
    return None


def is_forbidden_address(ip: str) -> str | None:
    """Why the guard refuses `ip` (loopback, private, metadata...), or None when it is public."""
    try:
        addr = ipaddress.ip_address(ip.strip().strip("[]"))
    except ValueError:
        return "not an IP address"
    if isinstance(addr, ipaddress.IPv6Address):
        return _judge_v6(ipaddress.IPv6Address(int(addr)))  # drop any %zone
    return _judge_v4(addr)


def resolve(host: str, port: int) -> list[tuple[int, tuple[Any, ...]]]:
    """Default resolver: getaddrinfo as urllib3 would call it, as (family, sockaddr) pairs."""
    out: list[tuple[int, tuple[Any, ...]]] = []
    for family, _type, _proto, _canon, sockaddr in socket.getaddrinfo(
        host, port, allowed_gai_family(), socket.SOCK_STREAM
    ):
        if (family, sockaddr) not in out:
            out.append((family, sockaddr))
    return out


def resolve_within(
    resolver: Resolver, host: str, port: int, timeout: float | None
) -> list[tuple[int, tuple[Any, ...]]]:
    """Resolve in a worker thread so a hanging DNS server costs at most `timeout` seconds of the call.

    getaddrinfo cannot be interrupted; a lookup that outlives its caller finishes (or hangs) in its
    daemon thread, alone. IP literals need no lookup and skip the thread."""
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        pass
    else:
        return resolver(host, port)
    if timeout is None:
        return resolver(host, port)
    outcome: list[list[tuple[int, tuple[Any, ...]]] | BaseException] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            outcome.append(resolver(host, port))
        except BaseException as exc:  # handed to the caller below
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=lookup, name=f"resolve {host}", daemon=True).start()
    if not done.wait(max(0.0, timeout)):
        raise socket.gaierror(f"DNS lookup for {host} took longer than the {timeout:.1f} s left for the call")
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


@dataclass(frozen=True)
class Guard:
    """The policy one session enforces. `resolver`/`is_forbidden` default to this module's
    functions, looked up at call time, so tests may pass their own or monkeypatch the module."""

    allow_private: bool = False
    resolver: Resolver | None = None
    is_forbidden: Policy | None = None

    def resolve_host(
        self, host: str, port: int, timeout: float | None = None
    ) -> list[tuple[int, tuple[Any, ...]]]:
        """The host's addresses, within `timeout` seconds (None: as long as the resolver takes). A
        test's resolver stands in for DNS only while guarding; unguarded sessions resolve normally."""
        resolver = resolve if self.allow_private else (self.resolver or resolve)
        return resolve_within(resolver, host, port, timeout)

    def forbidden_reason(self, ip: str) -> str | None:
        return (self.is_forbidden or is_forbidden_address)(ip)

    def connect(self, conn: Any, host: str, port: int, timeout: float | None) -> socket.socket:
        """A socket to `host`, resolved once within `timeout`, checked (unless private addresses are
        allowed) and connected to an address that passed; failures as urllib3's errors for `conn`."""
        started = time.monotonic()
        try:
            candidates = self.resolve_host(host.strip("[]"), port, timeout)
        except socket.gaierror as e:
            raise NameResolutionError(host, conn, e) from e
        if not candidates:
            raise NameResolutionError(host, conn, socket.gaierror("no addresses"))
        allowed, refused = [], []
        for family, sockaddr in candidates:
            reason = None if self.allow_private else self.forbidden_reason(str(sockaddr[0]))
            if reason:
                refused.append((str(sockaddr[0]), reason))
            else:
                allowed.append((family, sockaddr))
        if not allowed:
            raise _blocked(host, *refused[0])
        error: Exception | None = None
        for family, sockaddr in allowed:
            left = None if timeout is None else max(0.001, timeout - (time.monotonic() - started))
            try:
                return _open(family, sockaddr, left)
            except TimeoutError:
                error = ConnectTimeoutError(
                    conn, f"Connection to {host} ({sockaddr[0]}) timed out. (connect timeout={timeout})"
                )
            except OSError as e:
                error = NewConnectionError(conn, f"Failed to establish a new connection: {e}")
        assert error is not None
        raise error


def _open(family: int, sockaddr: tuple[Any, ...], timeout: float | None) -> socket.socket:
    """Connect within `timeout` (what the lookup left of the connect budget; None: no limit)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


def _blocked(host: str, ip: str, reason: str) -> BlockedAddressError:
    return BlockedAddressError(
        f"refusing to connect to {host} ({ip}): {reason}; set HUB_ALLOW_PRIVATE_NETWORK to allow",
        details={"host": host, "ip": ip, "reason": reason},
    )


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections are opened by the guard, kept alive in `hub.sdk.pool`.
    `send` is inherited on purpose: the `responses` test library patches HTTPAdapter.send."""

    __attrs__ = [*HTTPAdapter.__attrs__, "guard"]

    def __init__(
        self, guard: Guard | None = None, *, pool_connections: int = 32, pool_maxsize: int = 32
    ) -> None:
        self.guard = guard or Guard()
        super().__init__(pool_connections=pool_connections, pool_maxsize=pool_maxsize)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.guard = state.get("guard") or Guard()
        super().__setstate__(state)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)  # proxies only
        self._pools: OrderedDict[tuple[Any, ...], Pool] = OrderedDict()
        self._pools_lock = threading.Lock()

    def get_connection_with_tls_context(
        self, request: Any, verify: Any, proxies: dict[str, str] | None = None, cert: Any = None
    ) -> Any:
        """One pool per origin and TLS settings, the least recently used closed past
        `pool_connections` (a proxied call goes through urllib3's proxy manager)."""
        if proxies and select_proxy(request.url, proxies):
            return super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        parts = urlsplit(request.url)
        try:
            port = parts.port
        except ValueError as e:
            raise LocationValueError(str(e)) from e
        if not parts.hostname:
            raise LocationValueError(f"No host specified in {request.url!r}")
        scheme = parts.scheme.lower()
        key = (scheme, parts.hostname, port or (443 if scheme == "https" else 80), verify, _cert_key(cert))
        with self._pools_lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            pool = self._pools[key] = Pool(*key[:3], self.guard, self._pool_maxsize, verify, cert)
            evicted = (
                self._pools.popitem(last=False)[1] if len(self._pools) > self._pool_connections else None
            )
        if evicted is not None:
            evicted.close()
        return pool

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        if not isinstance(conn, Pool):  # a pool builds its TLS context from its own verify and cert
            super().cert_verify(conn, url, verify, cert)

    def close(self) -> None:
        super().close()
        with self._pools_lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        # Behind a proxy the guard would only see the proxy's address, never the target's.
        if not self.guard.allow_private:
            raise BlockedAddressError(
                "refusing to send through a proxy: the network guard cannot check the target address; "
                "set HUB_ALLOW_PRIVATE_NETWORK to allow"
            )
        return super().proxy_manager_for(proxy, **proxy_kwargs)


def _cert_key(cert: Any) -> CertType:
    return tuple(cert) if isinstance(cert, list | tuple) else cert


class _NoCookies(requests.cookies.RequestsCookieJar):
    """Shared sessions serve many tenants: a vendor's cookie must never ride along to another call."""

    def set_cookie(self, cookie: Any, *args: Any, **kwargs: Any) -> None:
        return None


def guarded_session(
    guard: Guard | None = None, *, allow_private: bool = False, pool_maxsize: int = 32
) -> requests.Session:
    """A session with guarded adapters, no cookie memory, and no proxies or netrc from the environment."""
    session = requests.Session()
    session.trust_env = False
    session.cookies = _NoCookies()
    session.headers["User-Agent"] = "integration-hub"
    # What hub.sdk.pool decodes; requests would also offer br and zstd when their packages happen
    # to be installed, and those bodies would reach connectors undecoded.
    session.headers["Accept-Encoding"] = "gzip, deflate"
    adapter = GuardedAdapter(
        guard or Guard(allow_private=allow_private), pool_connections=pool_maxsize, pool_maxsize=pool_maxsize
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
