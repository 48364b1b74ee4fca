"""Encryption of stored secrets: the only module that ever holds vault keys.

Secrets are sealed with AES-256-GCM, and the associated data names where the ciphertext lives (a
`Binding`: table, row and field, or a purpose for secrets that are not a row's), so a ciphertext copied
to another row or column fails to decrypt there instead of handing its secret to that row. A token is
`v2:<key id>:<base64url(nonce + ciphertext)>`; the key id tells which configured key made it.

`HUB_VAULT_KEYS` keeps its format (Fernet keys, newest first): each key's AES-256-GCM key is derived
from it with HKDF-SHA256, so deployments upgrade without operator action. The newest key encrypts,
every key decrypts. Tokens written before (plain Fernet, bound to nothing) are still read, and
`rotate_token` rewrites any token as a bound AEAD token under the newest key (`hub vault rotate`, and
once at start-up). No error message, log line or repr from here contains key material or plaintext.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hub.sdk.errors import VaultError

KEYS_FILENAME = "vault.keys"
FORMAT_PREFIX = "v2"  # Fernet tokens (the legacy format) start with "gAAAA" and never hold a ":"
_HKDF_INFO = b"integration-hub vault v2 aes-256-gcm"
_NONCE_BYTES = 12

_DECRYPT_FAILED = "cannot decrypt a stored secret with any configured key"
_CHECK_FAILED = "the configured vault keys cannot read this database's secrets; refusing to start"
# Encrypted once and stored in the database, so start-up can prove the configured keys still fit.
_CHECK_PLAINTEXT: dict[str, Any] = {"integration-hub": "vault check", "version": 1}


@dataclass(frozen=True)
class Binding:
    """Where a ciphertext belongs: it is the AEAD associated data, so it decrypts there and only there."""

    table: str
    row: str | int | None
    field: str

    def associated_data(self) -> bytes:
        if self.row is None or self.row == "":
            # A row not yet flushed has no id; sealing for "None" would bind every such row alike.
            raise VaultError(f"cannot seal a secret for a {self.table} row that has no id yet")
        return json.dumps([self.table, str(self.row), self.field]).encode("utf-8")

    def __str__(self) -> str:
        return f"{self.table} {self.row} {self.field}"


CHECK_BINDING = Binding("meta", "vault_check", "value")


class _Key:
    """One configured key: its id, its derived AES-256-GCM cipher and (for legacy tokens) its Fernet."""

    __slots__ = ("aead", "fernet", "kid")

    def __init__(self, key: str) -> None:
        self.fernet = Fernet(key)  # validates the format; raises ValueError/TypeError when malformed
        raw = base64.urlsafe_b64decode(key)
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(raw)
        self.aead = AESGCM(derived)
        self.kid = key_fingerprint(key)


class Vault:
    """Encrypts JSON objects under the newest key, bound to a place; decrypts with any configured key."""

    __slots__ = ("_by_kid", "_keys", "_legacy")

    def __init__(self, keys: list[str]) -> None:
        if isinstance(keys, str | bytes):
            # A bare string would be iterated per character; insist on the list the caller meant.
            raise VaultError("vault keys must be a list of keys, newest first")
        if not keys:
            raise VaultError("at least one vault key is required")
        parsed: list[_Key] = []
        for position, key in enumerate(keys, start=1):
            try:
                parsed.append(_Key(key))
            except (ValueError, TypeError, binascii.Error):
                # `from None`: the underlying error is not needed and must never drag the key along.
                raise VaultError(
                    f"vault key #{position} of {len(keys)} (newest first) is malformed: "
                    "expected a Fernet key (urlsafe base64 of 32 bytes)"
                ) from None
        self._keys = parsed
        self._by_kid = {k.kid: k for k in reversed(parsed)}  # a key listed twice: the newest entry wins
        self._legacy = MultiFernet([k.fernet for k in parsed])

    @property
    def key_count(self) -> int:
        """How many keys are configured (the newest encrypts, all decrypt)."""
        return len(self._keys)

    def __repr__(self) -> str:
        return f"Vault(key_count={len(self._keys)})"

    @staticmethod
    def is_current(token: object) -> bool:
        """Whether a stored value is a bound AEAD token (not a legacy Fernet token or plain text)."""
        return isinstance(token, str) and token.startswith(f"{FORMAT_PREFIX}:")

    def encrypt(self, data: dict[str, Any], binding: Binding) -> str:
        """Serialise `data` deterministically and seal it for `binding` under the newest key; ASCII."""
        if not isinstance(data, dict):
            raise VaultError(f"vault can only encrypt a JSON object, not {type(data).__name__}")
        try:
            plaintext = json.dumps(data, sort_keys=True, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            # json's messages name types ("Object of type X ...") or NaN, never the values themselves.
            raise VaultError(f"secret data is not JSON-serialisable: {exc}") from None
        key = self._keys[0]
        header = f"{FORMAT_PREFIX}:{key.kid}"
        nonce = os.urandom(_NONCE_BYTES)
        sealed = key.aead.encrypt(nonce, plaintext.encode("utf-8"), _aad(header, binding))
        return f"{header}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, token: str, binding: Binding) -> dict[str, Any]:
        """Open a stored token made for `binding` (or a legacy Fernet token) with whichever key made it."""
        plaintext = self._open(token, binding)
        try:
            data = json.loads(plaintext.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise VaultError("a stored secret decrypted to something that is not JSON") from None
        if not isinstance(data, dict):
            raise VaultError("a stored secret decrypted to something that is not a JSON object")
        return data

    def rotate_token(self, token: str, binding: Binding) -> str:
        """Re-seal a token (AEAD or legacy) for `binding` under the newest key, so old keys can go."""
        return self.encrypt(self.decrypt(token, binding), binding)

    def check_token(self) -> str:
        """A token of known plaintext for the app to store once, then test with `verify_check`."""
        return self.encrypt(_CHECK_PLAINTEXT, CHECK_BINDING)

    def verify_check(self, token: str) -> None:
        """Refuse to start when the configured keys cannot read the database's check token."""
        try:
            data = self.decrypt(token, CHECK_BINDING)
        except VaultError:
            raise VaultError(_CHECK_FAILED) from None
        if data != _CHECK_PLAINTEXT:
            raise VaultError(_CHECK_FAILED)

    def _open(self, token: str, binding: Binding) -> bytes:
        """The plaintext bytes, or one VaultError that names the place but never the token or a key."""
        if not isinstance(token, str):
            raise VaultError(_DECRYPT_FAILED)
        if not self.is_current(token):
            try:
                return self._legacy.decrypt(token.encode("ascii"))
            except (InvalidToken, UnicodeEncodeError, ValueError, TypeError):
                raise VaultError(_DECRYPT_FAILED) from None
        parts = token.split(":", 2)
        if len(parts) != 3:
            raise VaultError(_DECRYPT_FAILED)
        header, kid, body = f"{parts[0]}:{parts[1]}", parts[1], parts[2]
        key = self._by_kid.get(kid)
        if key is None:
            raise VaultError(
                f"cannot decrypt the stored secret of {binding}: "
                f"it was encrypted with key {kid}, which is not configured"
            )
        try:
            raw = base64.urlsafe_b64decode(body.encode("ascii"))
            if len(raw) <= _NONCE_BYTES:
                raise ValueError("too short")
            return key.aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _aad(header, binding))
        except (InvalidTag, ValueError, UnicodeEncodeError, binascii.Error):
            raise VaultError(
                f"cannot decrypt the stored secret of {binding}: it was not encrypted for this place "
                "(copied from elsewhere?) or has been altered"
            ) from None


def _aad(header: str, binding: Binding) -> bytes:
    return header.encode("ascii") + b"\n" + binding.associated_data()


def generate_key() -> str:
    """A fresh random Fernet key."""
    return Fernet.generate_key().decode("ascii")


def key_fingerprint(key: str) -> str:
    """A short, non-reversible id for a key, safe to print so operators can tell keys apart."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def load_keys(env_value: str | None, home: Path, *, allow_generate: bool) -> list[str]:
    """Find the vault keys: HUB_VAULT_KEYS, else `home/vault.keys`, else (if allowed) a new key file.

    The caller passes allow_generate=False when the database already holds encrypted secrets: a new
    key could never read them, so a missing key must stop start-up rather than be papered over.
    """
    if env_value is not None and env_value.strip():
        keys = [part.strip() for part in env_value.split(",") if part.strip()]
        if not keys:
            raise VaultError("HUB_VAULT_KEYS is set but holds no keys (expected comma-separated keys)")
        return keys

    path = home / KEYS_FILENAME
    from_file = _read_key_file(path)
    if from_file is not None:
        return from_file

    if not allow_generate:
        raise VaultError(
            f"no vault key: set HUB_VAULT_KEYS or restore {path}; "
            "refusing to generate a new key over existing encrypted data"
        )

    key = generate_key()
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        # Another process started at the same moment and won the race: use its key, not a second one.
        theirs = _read_key_file(path)
        if theirs is None:
            raise VaultError(f"{path} vanished while being created; start again") from None
        return theirs
    except OSError as exc:
        raise VaultError(f"cannot create {path}: {exc.strerror}") from None
    _write_and_close(fd, path, [key])
    _fsync_dir(home)
    return [key]


def add_new_key(home: Path) -> str:
    """Prepend a freshly generated key to `home/vault.keys`; returns its fingerprint, never the key.

    The file is rewritten through a 0600 temp file and os.replace, so a crash leaves either the old
    or the new list and never a partial one. With HUB_VAULT_KEYS the operator manages keys instead.
    """
    path = home / KEYS_FILENAME
    existing = _read_key_file(path)
    if existing is None:
        raise VaultError(
            f"{path} does not exist; if the keys come from HUB_VAULT_KEYS, add a new key there yourself"
        )
    owner = path.stat()
    key = generate_key()
    tmp = home / f".{KEYS_FILENAME}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        _write_and_close(fd, tmp, [key, *existing])
        _keep_owner(tmp, owner)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(home)
    return key_fingerprint(key)


def _read_key_file(path: Path) -> list[str] | None:
    """Keys from a key file (one per line, newest first), or None when the file does not exist."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise VaultError(f"cannot open {path}: {exc.strerror}") from None
    try:
        # fstat the opened file, not the path, so the mode checked is the mode of what is read.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise VaultError(f"{path} is not a regular file")
        if info.st_mode & 0o077:
            raise VaultError(
                f"{path} is accessible to other users (mode {stat.S_IMODE(info.st_mode):04o}); "
                f"run: chmod 600 {path}"
            )
        with os.fdopen(fd, "r", encoding="ascii", closefd=False) as handle:
            text = handle.read()
    except UnicodeDecodeError:
        raise VaultError(f"{path} holds non-ASCII text; vault keys are urlsafe base64") from None
    except OSError as exc:
        raise VaultError(f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    keys = [line.strip() for line in text.splitlines() if line.strip()]
    if not keys:
        raise VaultError(f"{path} holds no keys; restore it from backup or remove it")
    return keys


def _write_and_close(fd: int, path: Path, keys: list[str]) -> None:
    """Write keys one per line and fsync; a key that never reached the disk would orphan its data."""
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write("".join(f"{key}\n" for key in keys))
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise


def _keep_owner(path: Path, original: os.stat_result) -> None:
    """Give the replacement file the old owner, so `sudo hub vault rotate` cannot lock the app out."""
    current = path.stat()
    if (current.st_uid, current.st_gid) != (original.st_uid, original.st_gid):
        with contextlib.suppress(PermissionError):
            os.chown(path, original.st_uid, original.st_gid)


def _fsync_dir(directory: Path) -> None:
    """Make a new or renamed entry in `directory` durable; best effort where unsupported."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
