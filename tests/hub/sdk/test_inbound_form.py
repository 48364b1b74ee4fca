"""InboundRequest.form(): urlencoded and multipart/form-data bodies become the same dict."""

from __future__ import annotations

import pytest

from hub.sdk.errors import PermanentError
from hub.sdk.types import InboundRequest

BOUNDARY = "------------------------9051914041544843365972754266"


def inbound(body: bytes, content_type: str) -> InboundRequest:
    return InboundRequest(
        method="POST",
        url="https://hub.example.com/hooks/t",
        path="/hooks/t",
        headers={"Content-Type": content_type},
        query={},
        body=body,
    )


def multipart(*parts: tuple[str, str, str | None]) -> bytes:
    out = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename:
            out += b"Content-Type: text/plain\r\n"
        out += b"\r\n" + value.encode("utf-8") + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def test_multipart_fields_with_repeats_and_utf8() -> None:
    body = multipart(("name", "李雷", None), ("tag", "a", None), ("tag", "b", None), ("empty", "", None))
    form = inbound(body, f"multipart/form-data; boundary={BOUNDARY}").form()
    assert form == {"name": "李雷", "tag": ["a", "b"], "empty": ""}


def test_multipart_file_parts_are_left_out() -> None:
    body = multipart(("formID", "42", None), ("upload", "file content", "notes.txt"))
    assert inbound(body, f'multipart/form-data; boundary="{BOUNDARY}"').form() == {"formID": "42"}


def test_multipart_without_a_boundary_is_a_permanent_error() -> None:
    with pytest.raises(PermanentError, match="boundary"):
        inbound(multipart(("a", "1", None)), "multipart/form-data").form()


def test_urlencoded_still_works_and_matches_multipart() -> None:
    urlencoded = inbound(b"tag=a&tag=b&name=%E6%9D%8E%E9%9B%B7", "application/x-www-form-urlencoded").form()
    parted = inbound(
        multipart(("tag", "a", None), ("tag", "b", None), ("name", "李雷", None)),
        f"multipart/form-data; boundary={BOUNDARY}",
    ).form()
    assert urlencoded == parted == {"tag": ["a", "b"], "name": "李雷"}
