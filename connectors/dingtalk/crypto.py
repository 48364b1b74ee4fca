"""DingTalk's event-callback crypto (HTTP push mode): the WeChat-family envelope of hub.sdk.msgcrypt,
with the app's AppKey (event subscriptions), the CorpId (older corp callbacks) or the SuiteKey (ISV
suites) as the receive id, and a JSON reply carrying its own signature."""

from __future__ import annotations

import secrets
import time

from hub.sdk.errors import SignatureError
from hub.sdk.msgcrypt import check_signature as check_envelope
from hub.sdk.msgcrypt import decrypt, encrypt, msg_signature

__all__ = ["check_signature", "decrypt", "encrypt", "encrypted_reply", "msg_signature"]


def check_signature(token: str, timestamp: str, nonce: str, encrypt_value: str, given: str) -> None:
    try:
        check_envelope(token, timestamp, nonce, encrypt_value, given)
    except SignatureError as exc:
        raise SignatureError(f"DingTalk {exc.message}") from None


def encrypted_reply(
    token: str, encoding_aes_key: str, owner_key: str, message: str = "success", now: float | None = None
) -> dict[str, str]:
    """The body DingTalk expects back: the encrypted message with its own signature."""
    stamp = str(int((now if now is not None else time.time()) * 1000))
    nonce = secrets.token_hex(4)
    sealed = encrypt(encoding_aes_key, owner_key, message)
    return {
        "msg_signature": msg_signature(token, stamp, nonce, sealed),
        "timeStamp": stamp,
        "nonce": nonce,
        "encrypt": sealed,
    }
