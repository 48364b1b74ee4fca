"""Connector.retry_after: a vendor's own rate-limit headers set the wait, before Retry-After."""

from __future__ import annotations

import pytest
import responses

from hub.sdk.connector import Connector
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError, RetryableError
from hub.sdk.http import HttpClient, HttpResponse

API = "https://api.example.com"


class Limited(Connector):
    id = "limitedvendor"
    name = "Limited"
    base_url = API

    def retry_after(self, response: HttpResponse) -> float | None:
        if response.status != 429:
            return None
        window = response.headers.get("X-Window-Ms")
        return float(window) / 1000 if window else None


def failure(status: int, headers: dict[str, str]) -> RetryableError:
    with responses.RequestsMock() as mock:
        mock.get(f"{API}/x", status=status, headers=headers, body="")
        with pytest.raises(RetryableError) as info:
            Context(connector=Limited()).http.get("/x")
    return info.value


def test_the_hook_wins_over_retry_after() -> None:
    assert failure(429, {"X-Window-Ms": "2500", "Retry-After": "60"}).retry_after == 2.5


def test_retry_after_is_used_when_the_hook_has_no_answer() -> None:
    assert failure(429, {"Retry-After": "7"}).retry_after == 7.0
    assert failure(503, {"X-Window-Ms": "2500", "Retry-After": "9"}).retry_after == 9.0
    assert failure(429, {}).retry_after is None


def test_rate_limit_headers_are_kept_in_the_error_details() -> None:
    error = failure(429, {"X-RateLimit-Remaining": "0", "X-DayLimit-Remaining": "12", "X-Other": "x"})
    assert error.details["rate_limit"] == {"x-ratelimit-remaining": "0", "x-daylimit-remaining": "12"}


def test_a_broken_hook_falls_back_to_retry_after() -> None:
    def broken(response: HttpResponse) -> float | None:
        raise ValueError("bad header")

    with responses.RequestsMock() as mock:
        mock.get(f"{API}/x", status=429, headers={"Retry-After": "3"})
        with pytest.raises(RetryableError) as info:
            HttpClient(base_url=API, retry_after=broken).get("/x")
    assert info.value.retry_after == 3.0


def test_the_hook_is_not_asked_about_answers_that_are_not_retried() -> None:
    asked: list[int] = []

    def hook(response: HttpResponse) -> float | None:
        asked.append(response.status)
        return 1.0

    with responses.RequestsMock() as mock:
        mock.get(f"{API}/x", status=400)
        with pytest.raises(PermanentError):
            HttpClient(base_url=API, retry_after=hook).get("/x")
    assert asked == []
