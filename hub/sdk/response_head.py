"""http.client's response, with the header block split by hand.

`http.client.HTTPResponse.begin` hands the header lines to the email package's parser, which costs
~30 µs a response (feed parser, policy, defect checks) for what HTTP/1.1 defines as `name: value`
lines; then every header read back goes through the email policy again. `Response` reads the status
line and the headers as http.client does, with its limits and errors, and keeps the headers as a
list of pairs besides the `HTTPMessage` http.client's own reading needs.
"""

from __future__ import annotations

import http.client
import re
from typing import Any

MAX_LINE = 65536  # http.client's limits on a header line and on the number of headers
MAX_HEADERS = 100
_END = (b"\r\n", b"\n", b"")
_NAME = re.compile("[\x21-\x39\x3b-\x7e]+")  # printable ASCII but the colon, as the email parser takes


def read_head(fp: Any) -> list[tuple[str, str]]:
    """The header lines up to the blank line, as (name, value) pairs in order. As the email parser
    http.client uses reads them: the value loses its leading blanks and line end; a line with an
    empty name, an envelope `From ` line and a folded line with no header before it are skipped; a
    name with a blank or a byte outside printable ASCII ends the headers (the rest of the block is
    read and dropped). One difference: a folded line (obs-fold) is joined to its header with one
    space, where the email parser keeps the line break inside the value."""
    pairs: list[tuple[str, str]] = []
    ended = False
    for _ in range(MAX_HEADERS):  # http.client counts the blank line as one of 100
        line = fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        if line in _END:
            return pairs
        if ended:
            continue
        text = line.decode("iso-8859-1").rstrip("\r\n")
        if text[:1] in (" ", "\t"):
            if pairs:
                name, value = pairs[-1]
                pairs[-1] = (name, value + " " + text.strip(" \t"))
            continue
        if text.startswith("From "):
            continue
        name, colon, value = text.partition(":")
        if not colon or (name and _NAME.fullmatch(name) is None):
            ended = True
        elif name:
            pairs.append((name, value.lstrip(" \t")))
    raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")


class Response(http.client.HTTPResponse):
    """An HTTPResponse whose `begin` parses the head with `read_head`; `pairs` keeps the headers."""

    pairs: list[tuple[str, str]]

    def begin(self) -> None:
        if self.headers is not None:  # already begun
            return
        version, status, reason = self._read_status()
        while status == http.client.CONTINUE:  # an interim 100 Continue: its headers are skipped
            read_head(self.fp)
            version, status, reason = self._read_status()
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.pairs = read_head(self.fp)
        message = http.client.HTTPMessage()
        for name, value in self.pairs:
            message[name] = value
        self.headers = self.msg = message
        self._frame(status)

    def _frame(self, status: int) -> None:
        """Where the body ends, as http.client decides it: chunked, a Content-Length, or the close."""
        encoding = self.headers.get("transfer-encoding")
        self.chunked = encoding is not None and encoding.lower() == "chunked"
        self.chunk_left = None
        self.will_close = self._check_close()  # type: ignore[attr-defined]
        self.length = None
        length = self.headers.get("content-length")
        if length and not self.chunked:
            try:
                self.length = int(length)
            except ValueError:
                self.length = None
            else:
                if self.length < 0:
                    self.length = None
        no_body = status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED) or 100 <= status < 200
        if no_body or self._method == "HEAD":  # type: ignore[attr-defined]
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True
