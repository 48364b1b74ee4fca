"""Redaction: secret strings and secret-named fields never reach logs."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from hub.redaction import REDACTED, SECRET_KEY_PATTERN, redact, redact_headers


def test_nested_structures_are_redacted_without_mutation() -> None:
    original = {
        "request": {
            "url": "https://api.example.com/v1?key=s3cr3t-value",
            "items": [{"note": "uses s3cr3t-value"}, ("tuple s3cr3t-value", 5)],
        },
        "count": 3,
        "ok": True,
        "none": None,
    }
    result = redact(original, ["s3cr3t-value"])
    assert result == {
        "request": {
            "url": f"https://api.example.com/v1?key={REDACTED}",
            "items": [{"note": f"uses {REDACTED}"}, (f"tuple {REDACTED}", 5)],
        },
        "count": 3,
        "ok": True,
        "none": None,
    }
    assert original["request"]["url"].endswith("s3cr3t-value")  # type: ignore[index]


def test_secret_inside_longer_string_every_occurrence() -> None:
    assert redact("Bearer abcd1234 then abcd1234.", ["abcd1234"]) == f"Bearer {REDACTED} then {REDACTED}."


def test_overlapping_secrets_longest_first() -> None:
    assert redact("token=abcdefgh", ["abcd", "abcdefgh"]) == f"token={REDACTED}"


def test_short_and_non_string_secrets_are_ignored() -> None:
    secrets = ["a1", "abc", "", None, 1234, "abcd"]
    assert redact("a1 abc abcd 1234", secrets) == f"a1 abc {REDACTED} 1234"  # type: ignore[arg-type]


def test_regex_characters_in_secrets_are_literal() -> None:
    assert redact("x a.b*c+d y axbbbcd", ["a.b*c+d"]) == f"x {REDACTED} y axbbbcd"


def test_secrets_in_dict_keys_are_redacted() -> None:
    assert redact({"abcd1234": "v"}, ["abcd1234"]) == {REDACTED: "v"}


def test_no_secrets_returns_equal_copy() -> None:
    value = {"a": [1, {"b": "c"}]}
    result = redact(value)
    assert result == value
    assert result is not value
    assert result["a"] is not value["a"]


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "DB_PASSWORD",
        "passwd",
        "client_secret",
        "secretValue",
        "token",
        "accessToken",
        "refresh_token",
        "api_key",
        "API-Key",
        "apikey",
        "ApiKey",
        "access_key",
        "accessKey",
        "private_key",
        "Authorization",
        "signature",
        "X-Hub-Signature",
        "cookie",
        "Set-Cookie",
    ],
)
def test_secret_key_names(name: str) -> None:
    assert SECRET_KEY_PATTERN.search(name)
    assert redact({name: "plain", "other": "plain"}) == {name: REDACTED, "other": "plain"}


@pytest.mark.parametrize("name", ["username", "email", "url", "keyboard", "id", "amount", "author"])
def test_ordinary_key_names(name: str) -> None:
    assert not SECRET_KEY_PATTERN.search(name)
    assert redact({name: "value"}) == {name: "value"}


def test_secret_named_value_is_replaced_whole() -> None:
    value = {"owner": {"token": {"value": "x", "expires": 3}, "user": "bob"}, "secrets": ["a", "b"]}
    assert redact(value) == {"owner": {"token": REDACTED, "user": "bob"}, "secrets": REDACTED}


def test_headers() -> None:
    headers = {
        "Authorization": "Bearer abc",
        "Proxy-Authorization": "Basic xyz",
        "Cookie": "sid=1",
        "Set-Cookie": "sid=2",
        "X-Api-Key": "k",
        "X-Auth-Token": "t",
        "X-Client-Secret": "s",
        "X-Hub-Signature-256": "sha256=00",
        "X-Idempotency-Key": "i",
        "Content-Type": "application/json",
        "User-Agent": "hub/0.1",
        "Accept": "*/*",
    }
    result = redact_headers(headers)
    hidden = {name for name, value in result.items() if value == REDACTED}
    assert hidden == {
        "Authorization",
        "Proxy-Authorization",
        "Cookie",
        "Set-Cookie",
        "X-Api-Key",
        "X-Auth-Token",
        "X-Client-Secret",
        "X-Hub-Signature-256",
        "X-Idempotency-Key",
    }
    assert result["Content-Type"] == "application/json"
    assert list(result) == list(headers)


def test_header_names_are_case_insensitive() -> None:
    assert redact_headers({"authorization": "a", "COOKIE": "c", "x-API-key": "k"}) == {
        "authorization": REDACTED,
        "COOKIE": REDACTED,
        "x-API-key": REDACTED,
    }


def test_header_values_with_known_secrets() -> None:
    result = redact_headers({"Location": "https://x.test/cb?code=abcd1234"}, secrets=["abcd1234"])
    assert result == {"Location": f"https://x.test/cb?code={REDACTED}"}


@pytest.mark.parametrize(
    "name", ["X-Access-Key", "x-auth", "key", "Idempotency-Key", "session", "X-Session-Id", "sig", "pwd"]
)
def test_one_rule_for_header_names_query_parameters_and_json_keys(name: str) -> None:
    """A name is secret in every place or in none: the header, the query string and the JSON key."""
    assert redact_headers({name: "v-1"}) == {name: REDACTED}
    assert redact({name: "v-1"}) == {name: REDACTED}
    assert (
        redact(f"https://api.example.com/x?q=1&{name}=v-1")
        == f"https://api.example.com/x?q=1&{name}={REDACTED}"
    )


@pytest.mark.parametrize("name", ["keyboard", "author", "design", "sessions_count", "q", "page"])
def test_ordinary_names_stay_visible_everywhere(name: str) -> None:
    assert redact_headers({name: "v"}) == {name: "v"}
    assert redact(f"https://h.test/?{name}=v") == f"https://h.test/?{name}=v"


def test_secret_query_values_in_stored_strings() -> None:
    """Step inputs, outputs and errors quote URLs: secret query values never show, wherever they sit."""
    stored = {
        "url": "https://api.example.com/v1/items?api_key=k-1234&page=2",
        "error": "GET https://api.example.com/v1?access_token=t-99#frag failed: 401",
        "list": ["see https://u:pw-1@h.test/p?Signature=abc%2F&x=1 now"],
        "implicit": "https://app.test/cb#access_token=t-42&state=s",
    }
    assert redact(stored) == {
        "url": f"https://api.example.com/v1/items?api_key={REDACTED}&page=2",
        "error": f"GET https://api.example.com/v1?access_token={REDACTED}#frag failed: 401",
        "list": [f"see https://u:{REDACTED}@h.test/p?Signature={REDACTED}&x=1 now"],
        "implicit": f"https://app.test/cb#access_token={REDACTED}&state=s",
    }


def test_url_encoded_forms_of_known_secrets() -> None:
    assert redact("https://h.test/?q=a%2Fb%2Bc", ["a/b+c"]) == f"https://h.test/?q={REDACTED}"


def test_other_mappings_and_scalars_are_redacted_as_plain_values() -> None:
    """Any Mapping (a header object, a read-only view) is walked like a dict; numbers, booleans,
    null and other values pass through unchanged."""
    secret = "sk_live_abcdef123456"
    view = MappingProxyType({"Authorization": "Bearer x", "note": f"key {secret}", "n": 3})
    assert redact({"view": view, "flags": (True, None, 1.5, 7)}, [secret]) == {
        "view": {"Authorization": REDACTED, "note": f"key {REDACTED}", "n": 3},
        "flags": (True, None, 1.5, 7),
    }
