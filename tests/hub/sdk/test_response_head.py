"""The response head read by hand reads what http.client's email-based parser reads."""

from __future__ import annotations

import http.client
import io
import socket

import pytest

from hub.sdk.response_head import MAX_HEADERS, Response, read_head


def head(raw: bytes) -> list[tuple[str, str]]:
    return read_head(io.BytesIO(raw))


def email_parsed(raw: bytes) -> list[tuple[str, str]]:
    """What http.client itself makes of the same head (its HTTPMessage's items)."""
    return list(http.client.parse_headers(io.BytesIO(raw)).items())


@pytest.mark.parametrize(
    "raw",
    [
        b"Content-Type: application/json\r\nContent-Length: 12\r\n\r\n",
        b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Empty:\r\nX-Spaced:  \t value \r\n\r\n",
        b"Date: Sun, 06 Dec 2026 10:00:00 GMT\nServer: bare-newlines\n\n",
        b"X-Latin: caf\xe9\r\n\r\n",
        b"\r\n",
        b":no-name\r\nY: 2\r\n\r\n",  # skipped
        b" folded-first: 1\r\nY: 2\r\n\r\n",  # skipped
        b"From someone\r\nY: 2\r\n\r\n",  # an envelope line: skipped
        b"X Spaced-Name: 1\r\nY: 2\r\n\r\n",  # ends the headers
        b"X\x80: 1\r\nY: 2\r\n\r\n",  # ends the headers
    ],
)
def test_pairs_match_http_clients_own_parse(raw: bytes) -> None:
    assert head(raw) == email_parsed(raw)


def test_a_folded_line_joins_its_header_and_a_line_that_is_no_header_ends_them() -> None:
    assert head(b"X-Long: one\r\n  two\r\nX-Next: 3\r\n\r\n") == [("X-Long", "one two"), ("X-Next", "3")]
    raw = b"X-First: 1\r\nnot a header\r\nX-After: 2\r\n\r\n"
    assert head(raw) == [("X-First", "1")]
    assert email_parsed(raw) == [("X-First", "1")]  # http.client's parser stops there too


def test_the_head_is_read_to_its_blank_line_whatever_it_holds() -> None:
    stream = io.BytesIO(b"X-First: 1\r\nnot a header\r\nX-After: 2\r\n\r\nbody")
    read_head(stream)
    assert stream.read() == b"body"


def test_http_clients_limits_hold() -> None:
    most = b"".join(b"X-%d: v\r\n" % n for n in range(MAX_HEADERS - 1)) + b"\r\n"
    assert len(head(most)) == len(email_parsed(most)) == MAX_HEADERS - 1
    too_many = b"X-extra: v\r\n" + most
    for parse in (head, email_parsed):
        with pytest.raises(http.client.HTTPException, match="more than 100 headers"):
            parse(too_many)
    with pytest.raises(http.client.LineTooLong):
        head(b"X-Big: " + b"a" * 70_000 + b"\r\n\r\n")


def response(raw: bytes, method: str = "GET") -> Response:
    ours, theirs = socket.socketpair()
    theirs.sendall(raw)
    theirs.close()
    answer = Response(ours, method=method)
    answer.begin()
    ours.close()
    return answer


def test_the_body_is_framed_as_http_client_frames_it() -> None:
    sized = response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    assert (sized.status, sized.reason, sized.version, sized.length, sized.will_close) == (
        200,
        "OK",
        11,
        5,
        False,
    )
    assert sized.read() == b"hello"
    chunked = response(b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    assert chunked.chunked and chunked.read() == b"hello"
    closing = response(b"HTTP/1.0 200 OK\r\n\r\nuntil the end")
    assert closing.version == 10 and closing.will_close and closing.read() == b"until the end"
    kept = response(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
    assert not kept.will_close
    assert response(b"HTTP/1.1 204 No Content\r\n\r\n").length == 0
    assert response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", method="HEAD").length == 0


def test_an_interim_continue_is_skipped_and_an_unknown_protocol_refused() -> None:
    answer = response(
        b"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nX-Final: 2\r\nContent-Length: 2\r\n\r\nok"
    )
    assert answer.status == 200 and answer.pairs == [("X-Final", "2"), ("Content-Length", "2")]
    assert answer.getheader("x-final") == "2" and answer.read() == b"ok"
    with pytest.raises(http.client.UnknownProtocol):
        response(b"HTTP/2.0 200 OK\r\n\r\n")
