"""`event`: YonBIP event subscription (事件订阅) pushes, decrypted and checked.

The platform POSTs JSON `{msgSignature | signature, timestamp (ms), nonce, encrypt}`. `encrypt` is the
WeCom-style envelope (AES-256-CBC, key = Base64Decode(EncodingAESKey + "="), IV = key[:16], PKCS#7 to
32 bytes, plaintext = 16 random bytes ‖ uint32 length ‖ message ‖ AppKey) with an EncodingAESKey
derived from the AppSecret. The signature is lower-hex SHA-1 of the sorted [AppSecret, timestamp,
nonce, encrypt] (the official demo); newer apps are reported to sign with Base64 HmacSHA256(AppSecret,
sorted [timestamp, nonce, encrypt]) instead, which is accepted too (both need the AppSecret). The
platform wants the bare text `success`; it retries for 24 hours otherwise, so events dedupe on eventId.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hub.sdk.connector import WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import InvalidBodyError, SignatureError
from hub.sdk.msgcrypt import decrypt
from hub.sdk.signing import check_timestamp, hmac_base64, signatures_match
from hub.sdk.types import InboundRequest, TriggerEvent, WebhookResponse

KEY_LENGTH = 43
CHECK_URL = "CHECK_URL"  # the platform's test push when the callback address is saved
PLAIN = {"Content-Type": "text/plain"}


def encoding_aes_key(app_secret: str) -> str:
    """The AppSecret without '-', cut or right-padded with '0' to the 43 characters of an EncodingAESKey."""
    return app_secret.replace("-", "")[:KEY_LENGTH].ljust(KEY_LENGTH, "0")


def sha1_signature(app_secret: str, timestamp: str, nonce: str, encrypt: str) -> str:
    joined = "".join(sorted([app_secret, timestamp, nonce, encrypt]))
    return hashlib.sha1(joined.encode("utf-8"), usedforsecurity=False).hexdigest()


def hmac_signature(app_secret: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hmac_base64(app_secret, "".join(sorted([timestamp, nonce, encrypt])))


def envelope(request: InboundRequest) -> dict[str, str]:
    body = request.json()
    if not isinstance(body, dict) or not isinstance(body.get("encrypt"), str):
        raise InvalidBodyError("用友: an event push must be a JSON object with 'encrypt'")
    return {
        k: str(body.get(k) if body.get(k) is not None else "")
        for k in ("msgSignature", "signature", "timestamp", "nonce", "encrypt")
    }


class EventPush(WebhookTrigger):
    key = "event"
    title = "Business event (event subscription)"
    description = (
        "Starts a run for each event YonBIP pushes to the recipe's hook URL (开放平台 > 事件订阅), "
        "decrypted with the app's AppSecret."
    )
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "types": {
                "type": "array",
                "items": {"type": "string"},
                "title": "Event types",
                "description": "Only these event types start runs (all when empty).",
            },
            "max_age_s": {
                "type": "integer",
                "minimum": 0,
                "maximum": 172800,
                "default": 90000,
                "title": "Oldest timestamp accepted (seconds)",
                "description": "Pushes are retried for 24 hours, so the default allows 25; "
                "0 turns the check off.",
            },
        },
    }
    output_schema = {
        "type": "object",
        "required": ["type", "event_id", "content"],
        "properties": {
            "type": {"type": "string"},
            "event_id": {"type": "string"},
            "tenant_id": {"type": ["string", "null"]},
            "timestamp": {},
            "content": {"description": "The decrypted event as the platform sent it."},
        },
    }
    sample = {
        "type": "SALE_ORDER_AUDIT",
        "event_id": "033af2b1-96c0-4cc2-8991-3abe42aa3d0b",
        "tenant_id": "t8f2k1",
        "timestamp": 1763892000000,
        "content": {"type": "SALE_ORDER_AUDIT", "eventId": "033af2b1-96c0-4cc2-8991-3abe42aa3d0b"},
    }

    def verify(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> None:
        secret = str(ctx.connection.get("app_secret") or "")
        sealed = envelope(request)
        max_age = int(config.get("max_age_s", 90000))
        if max_age:
            check_timestamp(sealed["timestamp"], tolerance_s=max_age, what="用友: timestamp", unit="ms")
        parts = (secret, sealed["timestamp"], sealed["nonce"], sealed["encrypt"])
        good = signatures_match(
            sha1_signature(*parts), sealed["msgSignature"] or sealed["signature"], ignore_case=True
        )
        good = good or signatures_match(hmac_signature(*parts), sealed["signature"] or sealed["msgSignature"])
        if not secret or not good:
            raise SignatureError("用友: the event's signature does not match (AppSecret?)")
        try:
            _, owner = decrypt(encoding_aes_key(secret), sealed["encrypt"])
        except SignatureError as exc:  # the shared envelope code names its own vendor's key
            raise SignatureError(
                f"用友: the event cannot be decrypted with the AppSecret: {exc.message}"
            ) from None
        if owner != str(ctx.connection.get("app_key") or ""):
            raise SignatureError("用友: the event was sealed for another app (AppKey mismatch)")

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        message, _ = decrypt(
            encoding_aes_key(str(ctx.connection.get("app_secret") or "")), envelope(request)["encrypt"]
        )
        try:
            content = json.loads(message)
        except ValueError as exc:
            raise InvalidBodyError(f"用友: the decrypted event is not JSON: {exc}") from None
        if not isinstance(content, dict):
            raise InvalidBodyError("用友: the decrypted event is not a JSON object")
        kind = str(content.get("type") or "")
        if kind == CHECK_URL or (config.get("types") and kind not in config["types"]):
            return []
        event_id = str(content.get("eventId") or content.get("event_id") or "")
        if not event_id:
            raise InvalidBodyError("用友: the decrypted event has no eventId")
        data = {
            "type": kind,
            "event_id": event_id,
            "tenant_id": content.get("tenantId"),
            "timestamp": content.get("timestamp"),
            "content": content,
        }
        return [TriggerEvent(data=data, id=event_id)]

    def acknowledge(
        self, ctx: Context, config: dict[str, Any], request: InboundRequest, event_ids: list[str]
    ) -> WebhookResponse | None:
        return WebhookResponse(status=200, body="success", headers=PLAIN)
