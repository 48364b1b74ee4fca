"""hub.sdk.signing: published HMAC vectors, constant-time comparison, and the timestamp window's edges."""

from __future__ import annotations

import hmac

import pytest

from hub.sdk import SignatureError, check_timestamp, hmac_base64, hmac_digest, hmac_hex, signatures_match
from hub.sdk.signing import Algorithm

NOW = 1_700_000_000.0


# RFC 4231 test case 2 (HMAC-SHA-256/512) and RFC 2202 test cases 1-2 (HMAC-SHA-1).
@pytest.mark.parametrize(
    ("key", "message", "algorithm", "expected_hex"),
    [
        (
            "Jefe",
            "what do ya want for nothing?",
            "sha256",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            "Jefe",
            "what do ya want for nothing?",
            "sha512",
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
            "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        ),
        (b"\x0b" * 20, b"Hi There", "sha1", "b617318655057264e28bc0b6fb378c8ef146be00"),
        ("Jefe", b"what do ya want for nothing?", "sha1", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
    ],
)
def test_published_hmac_vectors(
    key: str | bytes, message: str | bytes, algorithm: Algorithm, expected_hex: str
) -> None:
    assert hmac_digest(key, message, algorithm) == bytes.fromhex(expected_hex)
    assert hmac_hex(key, message, algorithm) == expected_hex


def test_base64_encoding_and_the_sha256_default() -> None:
    assert (
        hmac_base64("Jefe", "what do ya want for nothing?") == "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="
    )
    assert hmac_hex("Jefe", "what do ya want for nothing?").startswith("5bdcc146")


def test_text_keys_and_messages_are_utf8() -> None:
    assert hmac_digest("clé", "données") == hmac_digest("clé".encode(), "données".encode())


def test_signatures_match_equal_unequal_and_of_other_lengths() -> None:
    expected = hmac_hex("k", b"body")
    assert signatures_match(expected, expected)
    assert signatures_match(expected, f"  {expected}\r\n")  # a proxy's or a copy-paste's whitespace
    assert not signatures_match(expected, expected[:-1] + ("0" if expected[-1] != "0" else "1"))
    assert not signatures_match(expected, expected[:-2])
    assert not signatures_match(expected, expected + "00")
    assert not signatures_match(expected, "")
    assert not signatures_match(expected, None)


def test_case_is_ignored_only_when_asked_for_hex() -> None:
    hex_signature = hmac_hex("k", b"body")
    assert not signatures_match(hex_signature, hex_signature.upper())
    assert signatures_match(hex_signature, hex_signature.upper(), ignore_case=True)
    b64 = hmac_base64("k", b"body")
    assert b64 != b64.lower() and not signatures_match(b64, b64.lower())


@pytest.mark.parametrize("given", ["é" * 64, "\udc80" * 64, "签名", "\x00" * 64, b"\xff" * 32, "v1,\u2028"])
def test_non_ascii_or_binary_input_is_no_match_and_never_raises(given: str | bytes) -> None:
    assert signatures_match(hmac_hex("k", b"body"), given) is False
    assert signatures_match(hmac_digest("k", b"body"), given) is False


def test_raw_digests_are_compared_exactly_not_stripped() -> None:
    digest = b" " + bytes(range(1, 31)) + b"\n"  # a raw HMAC may begin or end with a whitespace byte
    assert signatures_match(digest, digest)
    assert not signatures_match(digest, digest.strip())


def test_hmac_compare_digest_is_what_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not `==`: with compare_digest made to answer the opposite, the answer follows it."""
    compared: list[tuple[bytes, bytes]] = []

    def opposite(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return a != b

    monkeypatch.setattr(hmac, "compare_digest", opposite)
    assert signatures_match("abc", "abd") is True
    assert signatures_match("abc", "abc") is False
    assert compared == [(b"abc", b"abd"), (b"abc", b"abc")]


@pytest.mark.parametrize("offset", [0, 299, 300, -299, -300])
def test_within_the_window_exactly_at_the_tolerance_included(offset: int) -> None:
    check_timestamp(str(int(NOW) - offset), tolerance_s=300, what="X-Stamp", now=NOW)


def test_one_second_past_the_window_is_a_replay() -> None:
    with pytest.raises(SignatureError, match=r"^X-Stamp is older than 5 minutes, .*\(replayed\?\)$"):
        check_timestamp(str(int(NOW) - 301), tolerance_s=300, what="X-Stamp", now=NOW)


def test_one_second_too_far_in_the_future_is_refused() -> None:
    with pytest.raises(SignatureError, match=r"^X-Stamp is more than 90 s in the future"):
        check_timestamp(str(int(NOW) + 91), tolerance_s=90, what="X-Stamp", now=NOW)
    check_timestamp(str(int(NOW) + 90), tolerance_s=90, what="X-Stamp", now=NOW)


def test_milliseconds() -> None:
    stamp = str(int(NOW * 1000) - 600_000)
    check_timestamp(stamp, tolerance_s=600, what="X-Stamp", unit="ms", now=NOW)
    with pytest.raises(SignatureError, match="older than 10 minutes"):
        check_timestamp(stamp, tolerance_s=600, what="X-Stamp", unit="ms", now=NOW + 0.001)
    with pytest.raises(SignatureError, match="older than"):  # seconds read as milliseconds: 1970
        check_timestamp(str(int(NOW)), tolerance_s=600, what="X-Stamp", unit="ms", now=NOW)


def test_surrounding_whitespace_is_allowed() -> None:
    check_timestamp(f" {int(NOW)}\t", tolerance_s=1, what="X-Stamp", now=NOW)


@pytest.mark.parametrize("value", [None, "", "  "])
def test_a_missing_timestamp_is_named(value: str | None) -> None:
    with pytest.raises(SignatureError, match=r"^X-Stamp is missing$"):
        check_timestamp(value, tolerance_s=300, what="X-Stamp", now=NOW)


@pytest.mark.parametrize(
    "value",
    ["soon", "1700000000.5", "-1", "+1700000000", "1e9", "nan", "inf", "1_700_000_000", "²", "١٧٠٠٠٠٠٠٠٠"],
)
def test_anything_but_ascii_digits_is_not_a_unix_time(value: str) -> None:
    # int() accepts "+1", "1_0" and Arabic digits, float() "nan" (a window that never closes),
    # and str.isdigit() passes "²", which int() then refuses with a ValueError.
    with pytest.raises(SignatureError, match=r"^X-Stamp is not a Unix time in milliseconds$"):
        check_timestamp(value, tolerance_s=300, what="X-Stamp", unit="ms", now=NOW)


def test_a_huge_number_is_refused_as_a_signature_error_not_a_crash() -> None:
    with pytest.raises(SignatureError, match="in the future"):
        check_timestamp("9" * 5000, tolerance_s=300, what="X-Stamp", now=NOW)
