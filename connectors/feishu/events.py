"""Feishu event subscription security: Encrypt Key decryption, X-Lark-Signature, Verification Token.

With an Encrypt Key, Feishu posts `{"encrypt": base64(iv + AES-256-CBC(body))}` where the AES key is
sha256(encrypt_key) and the iv the first 16 bytes, and signs each request with
X-Lark-Signature = hex(sha256(timestamp + nonce + encrypt_key + raw body)).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from hub.sdk.errors import SignatureError
from hub.sdk.signing import check_timestamp, signatures_match
from hub.sdk.types import InboundRequest


def decrypt(encrypt_key: str, encrypted: str) -> str:
    """The plaintext of an `encrypt` field; SignatureError when it does not decrypt cleanly."""
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("Feishu: `encrypt` is not base64") from exc
    if len(raw) < 32 or len(raw) % 16:
        raise SignatureError("Feishu: `encrypt` has the wrong length for AES-CBC")
    key = hashlib.sha256(encrypt_key.encode("utf-8")).digest()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(raw[:16])).decryptor()
    padded = decryptor.update(raw[16:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        return plain.decode("utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignatureError("Feishu: `encrypt` does not decrypt with the configured Encrypt Key") from exc


def sign(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """What Feishu sends as X-Lark-Signature."""
    return hashlib.sha256(timestamp.encode() + nonce.encode() + encrypt_key.encode() + body).hexdigest()


def check_signature(
    request: InboundRequest, encrypt_key: str, max_age_s: float = 0, now: float | None = None
) -> None:
    timestamp = request.header("X-Lark-Request-Timestamp")
    nonce = request.header("X-Lark-Request-Nonce")
    given = request.header("X-Lark-Signature")
    if not (timestamp and nonce and given):
        raise SignatureError(
            "Feishu: missing X-Lark-Request-Timestamp, X-Lark-Request-Nonce or X-Lark-Signature"
        )
    expected = sign(timestamp, nonce, encrypt_key, request.body)
    if not signatures_match(expected, given, ignore_case=True):
        raise SignatureError("Feishu: X-Lark-Signature does not match the body")
    if max_age_s:
        what = "Feishu: X-Lark-Request-Timestamp"
        check_timestamp(timestamp, tolerance_s=max_age_s, what=what, now=now)


def payload(request: InboundRequest, encrypt_key: str | None) -> dict[str, Any]:
    """The event body, decrypted when Feishu encrypted it."""
    body = request.json()
    if not isinstance(body, dict):
        raise SignatureError("Feishu: the body is not a JSON object")
    if "encrypt" in body:
        if not encrypt_key:
            raise SignatureError("Feishu: the event is encrypted but the connection has no Encrypt Key")
        body = json.loads(decrypt(encrypt_key, str(body["encrypt"])), parse_float=Decimal)
        if not isinstance(body, dict):
            raise SignatureError("Feishu: the decrypted event is not a JSON object")
    return body


def check_token(body: dict[str, Any], verification_token: str | None) -> None:
    """The Verification Token: `token` in schema 1.0 and handshakes, `header.token` in schema 2.0."""
    if not verification_token:
        return
    raw_header = body.get("header")
    header = raw_header if isinstance(raw_header, dict) else {}
    given = str(body.get("token") or header.get("token") or "")
    if not signatures_match(verification_token, given):
        raise SignatureError("Feishu: the Verification Token does not match")
