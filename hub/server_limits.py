"""What one client may make a waitress server hold: connections, time to send a request, body size.

Waitress reads a whole request body (into memory, then a temporary file) in its event loop before
the application sees it, so a size check in a view comes after the reading. The parser here checks
the declared Content-Length against the route's limit as soon as the headers are parsed and counts
chunked bodies against it as they arrive; an oversized request is answered 413 and its connection
closed without reading on. A request that has not arrived whole `client_timeout_s` after its first
byte is closed however steadily it trickles, which waitress's inactivity timeout alone does not do
(slowloris), and so is a new connection that has sent nothing for as long. Connections between
requests are closed after `idle_timeout_s`, and at the connection limit the least useful open
connection makes room for a new one.
"""

from __future__ import annotations

import json
import logging
import resource
import time
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer
from waitress.utilities import RequestEntityTooLarge

from hub.config import Settings

log = logging.getLogger("hub.server")
HEADER_BYTES = 64 * 1024  # request line and headers; waitress allows 256 KiB
BODY_IN_MEMORY_BYTES = 128 * 1024  # a body larger than this waits in a temporary file
FILES_PER_CONNECTION = 3  # the socket, and temporary files for a large body and a large response


def body_limit(settings: Settings, path: str) -> int:
    """The largest body a request to `path` may carry: webhooks, the JSON API, or the UI's forms."""
    if path.startswith("/hooks/"):
        return settings.max_webhook_bytes
    if path.startswith("/api/"):
        return settings.max_api_bytes
    return settings.max_form_bytes


def largest_body(settings: Settings) -> int:
    return max(settings.max_webhook_bytes, settings.max_api_bytes, settings.max_form_bytes)


class BodyTooLarge(RequestEntityTooLarge):
    """The 413 in the hub's JSON error shape, as the ingress and the API answer it."""

    def to_response(self, ident: str | None = None) -> tuple[str, list[tuple[str, str]], bytes]:
        body = json.dumps({"error": {"code": "payload_too_large", "message": self.body}}).encode()
        return f"{self.code} {self.reason}", [("Content-Type", "application/json")], body


class LimitedParser(HTTPRequestParser):
    """One request: refused with 413 once its body is known to exceed its route's limit."""

    settings: Settings
    limit: int | None = None

    def __init__(self, adj: Any) -> None:
        super().__init__(adj)
        self.started = time.monotonic()  # made when the request's first byte arrives

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        self.limit = body_limit(self.settings, self.path)

    def received(self, data: bytes) -> int:
        """As waitress, then refused on a declared length over the limit (right after the headers,
        before anything is read of the body) or a chunked body that has grown past it."""
        consumed = super().received(data)
        if self.limit is not None and max(self.content_length, self.body_bytes_received) > self.limit:
            self._refuse()
        return consumed

    def _refuse(self) -> None:
        self.error = BodyTooLarge(f"the body is over this address's limit of {self.limit} bytes")
        self.completed = True
        self.expect_continue = False  # no "100 Continue": the client must not start sending


def channel_class(settings: Settings) -> type[HTTPChannel]:
    """A waitress channel whose requests are parsed with the limits of `settings`."""
    parser = type("LimitedParser", (LimitedParser,), {"settings": settings})
    return type("LimitedChannel", (HTTPChannel,), {"parser_class": parser})


def waitress_options(settings: Settings) -> dict[str, Any]:
    """create_server() adjustments for the limits of `settings`."""
    return {
        "connection_limit": settings.max_connections,
        "channel_timeout": settings.idle_timeout_s,
        "cleanup_interval": max(1, min(settings.client_timeout_s, settings.idle_timeout_s) // 4),
        "max_request_body_size": largest_body(settings) + 1,  # waitress refuses a body of exactly this
        "max_request_header_size": HEADER_BYTES,
        "inbuf_overflow": BODY_IN_MEMORY_BYTES,
        "asyncore_use_poll": True,  # select() cannot watch descriptors numbered 1024 or more
    }


def _least_needed(server: BaseWSGIServer) -> HTTPChannel | None:
    """The open connection to give up for a new one: the request that has been arriving longest,
    else the keep-alive connection idle longest; never one whose request is being answered."""
    waiting = [c for c in server.active_channels.values() if not c.requests and not c.will_close]
    arriving = [c for c in waiting if c.request is not None and not c.request.completed]
    if arriving:
        return min(arriving, key=lambda channel: channel.request.started)
    return min(waiting, key=lambda channel: channel.last_activity, default=None)


def apply(server: BaseWSGIServer, settings: Settings) -> None:
    """Give a waitress server the limited channel, a deadline for each request to arrive whole, and
    room for new connections at the connection limit.

    At the limit waitress stops accepting, so clients that merely hold connections open would lock
    everyone else out; instead the connection that is least use is closed to make room."""
    server.channel_class = channel_class(settings)
    accepts, accept = server.readable, server.handle_accept

    def readable() -> bool:
        if accepts():  # which also runs waitress's maintenance
            return True
        # At the limit waitress stops listening; listen on while a connection could make room.
        return server.accepting and any(not channel.requests for channel in server.active_channels.values())

    def handle_accept() -> None:
        if len(server._map) >= server.adj.connection_limit:
            victim = _least_needed(server)
            if victim is None:
                return
            victim.handle_close()
        accept()

    server.readable, server.handle_accept = readable, handle_accept
    idle_maintenance = server.maintenance

    def maintenance(now: float) -> None:
        """Waitress's idle timeout, and the deadline for a request to arrive (`now` is time.time())."""
        idle_maintenance(now)
        cutoff, started_cutoff = now - settings.client_timeout_s, time.monotonic() - settings.client_timeout_s
        for channel in list(server.active_channels.values()):
            request = channel.request
            if request is not None and not request.completed:
                late = request.started < started_cutoff
            else:  # a connection that never sent a byte: last_activity is still its creation time
                late = not channel.requests and channel.last_activity == channel.creation_time < cutoff
            if late:
                channel.will_close = True  # the event loop closes it on its next turn

    server.maintenance = maintenance


def raise_file_limit(settings: Settings) -> None:
    """Let the process open the descriptors its connection limit needs, up to the hard limit."""
    needed = settings.max_connections * FILES_PER_CONNECTION + 256  # + database, logs, listening
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < needed:
            log.warning(
                "event=file_limit_low open_files=%d needed=%d hint=lower HUB_MAX_CONNECTIONS or raise "
                "the hard limit (ulimit -Hn, LimitNOFILE)",
                target,
                needed,
            )
