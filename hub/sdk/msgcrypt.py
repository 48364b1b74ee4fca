"""The callback envelope of the WeChat family (WeCom's WXBizMsgCrypt, copied by DingTalk and others).

msg_signature = lower-hex SHA-1 of the sorted, concatenated [token, timestamp, nonce, encrypt].
`encrypt` is base64 of AES-256-CBC (key = base64decode(EncodingAESKey + "="), IV = key[:16],
PKCS#7 padding to 32-byte blocks) over 16 random bytes + 4-byte big-endian length + message +
receive id (whose messages these are: a corp id, an app key, a suite id). Kept in the SDK because
several vendors use it byte for byte; what wraps it (XML, JSON, query strings) stays in each connector.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from hub.sdk.errors import SignatureError
from hub.sdk.signing import signatures_match

BLOCK = 32  # the padding block of the scheme, not AES's 16


def msg_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    joined = "".join(sorted([token, timestamp, nonce, encrypt])).encode("utf-8")
    return hashlib.sha1(joined, usedforsecurity=False).hexdigest()  # SHA-1 is the vendors' choice


def check_signature(token: str, timestamp: str, nonce: str, encrypt: str, given: str | None) -> None:
    if not signatures_match(msg_signature(token, timestamp, nonce, encrypt), given, ignore_case=True):
        raise SignatureError("msg_signature does not match")


def aes_key(encoding_aes_key: str) -> bytes:
    """The 43-character EncodingAESKey is base64 of the 32-byte key without its '=' padding."""
    try:
        key = base64.b64decode(encoding_aes_key.strip() + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("the EncodingAESKey is not valid base64") from exc
    if len(key) != 32:
        raise SignatureError("the EncodingAESKey must be 43 characters (a 32-byte key)")
    return key


def _cipher(key: bytes) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def encrypt(encoding_aes_key: str, receive_id: str, message: str, random16: bytes | None = None) -> str:
    key = aes_key(encoding_aes_key)
    body = message.encode("utf-8")
    plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body + receive_id.encode("utf-8")
    pad = BLOCK - len(plain) % BLOCK
    plain += bytes([pad]) * pad
    encryptor = _cipher(key).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")


def decrypt(encoding_aes_key: str, encrypted: str) -> tuple[str, str]:
    """(message, receive id); SignatureError when the ciphertext or its padding is malformed."""
    key = aes_key(encoding_aes_key)
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("encrypt is not valid base64") from exc
    if not raw or len(raw) % 16:
        raise SignatureError("encrypt is not a whole number of AES blocks")
    decryptor = _cipher(key).decryptor()
    plain = decryptor.update(raw) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise SignatureError("encrypt has bad padding (wrong EncodingAESKey?)")
    plain = plain[:-pad]
    if len(plain) < 20:
        raise SignatureError("encrypt is too short")
    (length,) = struct.unpack(">I", plain[16:20])
    if 20 + length > len(plain):
        raise SignatureError("encrypt declares a message longer than itself")
    try:
        return plain[20 : 20 + length].decode("utf-8"), plain[20 + length :].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SignatureError("decrypted message is not UTF-8") from exc
