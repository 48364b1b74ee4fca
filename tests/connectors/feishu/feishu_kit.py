"""Helpers for Feishu tests: encrypt and sign events the way Feishu does."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from connectors.feishu.events import sign


def encrypt(encrypt_key: str, plaintext: str, iv: bytes | None = None) -> str:
    iv = iv or os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode()) + padder.finalize()
    key = hashlib.sha256(encrypt_key.encode()).digest()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(padded) + encryptor.finalize()).decode()


def signed_body(
    encrypt_key: str, event: dict[str, Any], timestamp: str, nonce: str = "n0nce"
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"encrypt": encrypt(encrypt_key, json.dumps(event))}).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Lark-Request-Timestamp": timestamp,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": sign(timestamp, nonce, encrypt_key, body),
    }
    return body, headers


def approval_event(
    instance_code: str, status: str, uuid: str, token: str, approval_code: str = "APR-1"
) -> dict[str, Any]:
    """A schema 1.0 approval instance event as Feishu posts it."""
    return {
        "uuid": uuid,
        "token": token,
        "ts": "1666079207.003",
        "type": "event_callback",
        "event": {
            "app_id": "cli_9e28cb7ba56a100e",
            "approval_code": approval_code,
            "instance_code": instance_code,
            "instance_operate_time": "1666079207003",
            "operate_time": "1666079207003",
            "status": status,
            "tenant_key": "2d520d3b434f175e",
            "type": "approval_instance",
        },
    }
