"""Vault: encryption round trips, key rotation, key files and the start-up check."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hub.sdk.errors import VaultError
from hub.vault import KEYS_FILENAME, Binding, Vault, add_new_key, key_fingerprint, load_keys

B = Binding("connections", 1, "secrets")


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_keys(home: Path, keys: list[str], mode: int = 0o600) -> Path:
    path = home / KEYS_FILENAME
    path.write_text("".join(f"{k}\n" for k in keys), encoding="ascii")
    path.chmod(mode)
    return path


# --- Vault ------------------------------------------------------------------------------------------


def test_round_trip() -> None:
    vault = Vault([new_key()])
    data = {"user": "bot", "password": "hunter2", "nested": {"n": 1, "ok": True, "list": [1, None]}}
    token = vault.encrypt(data, B)
    assert isinstance(token, str)
    token.encode("ascii")
    assert "hunter2" not in token
    assert vault.decrypt(token, B) == data


def test_unicode_round_trip() -> None:
    vault = Vault([new_key()])
    data = {"名前": "山田太郎", "emoji": "🔑", "accent": "café"}
    assert vault.decrypt(vault.encrypt(data, B), B) == data


def test_each_encryption_is_fresh() -> None:
    vault = Vault([new_key()])
    assert vault.encrypt({"a": 1}, B) != vault.encrypt({"a": 1}, B)


def test_tampered_token_is_refused() -> None:
    vault = Vault([new_key()])
    token = vault.encrypt({"secret": "value"}, B)
    middle = len(token) // 2
    tampered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    with pytest.raises(VaultError, match="cannot decrypt"):
        vault.decrypt(tampered, B)


@pytest.mark.parametrize("garbage", ["", "not a token", "ünïcode", "gAAAAA"])
def test_garbage_token_is_refused(garbage: str) -> None:
    with pytest.raises(VaultError, match="cannot decrypt"):
        Vault([new_key()]).decrypt(garbage, B)


def test_wrong_key_is_refused_without_leaking() -> None:
    right, wrong = new_key(), new_key()
    token = Vault([right]).encrypt({"password": "hunter2"}, B)
    with pytest.raises(VaultError) as caught:
        Vault([wrong]).decrypt(token, B)
    message = str(caught.value)
    assert message == (
        f"cannot decrypt the stored secret of connections 1 secrets: it was encrypted with key "
        f"{key_fingerprint(right)}, which is not configured"
    )
    assert "hunter2" not in message and right not in message and wrong not in message
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_rotation() -> None:
    old, new = new_key(), new_key()
    old_token = Vault([old]).encrypt({"api_key": "abc"}, B)
    both = Vault([new, old])
    assert both.key_count == 2
    assert both.decrypt(old_token, B) == {"api_key": "abc"}
    with pytest.raises(VaultError):
        Vault([new]).decrypt(old_token, B)
    rotated = both.rotate_token(old_token, B)
    assert Vault([new]).decrypt(rotated, B) == {"api_key": "abc"}


def test_newest_key_encrypts() -> None:
    old, new = new_key(), new_key()
    token = Vault([new, old]).encrypt({"a": 1}, B)
    assert Vault([new]).decrypt(token, B) == {"a": 1}
    with pytest.raises(VaultError):
        Vault([old]).decrypt(token, B)


def test_rotate_token_of_unreadable_token() -> None:
    token = Vault([new_key()]).encrypt({"a": 1}, B)
    with pytest.raises(VaultError, match="cannot decrypt"):
        Vault([new_key()]).rotate_token(token, B)


def test_token_names_format_and_key_and_hides_the_plaintext() -> None:
    key = new_key()
    token = Vault([key]).encrypt({"password": "hunter2"}, B)
    version, kid, body = token.split(":")
    assert (version, kid) == ("v2", key_fingerprint(key))
    assert "hunter2" not in token and key not in token and len(body) > 40


def test_ciphertext_does_not_open_in_another_place() -> None:
    vault = Vault([new_key()])
    token = vault.encrypt({"password": "hunter2"}, Binding("connections", 1, "secrets"))
    for elsewhere in [
        Binding("connections", 2, "secrets"),
        Binding("connections", 1, "config"),
        Binding("cache_entries", 1, "secrets"),
    ]:
        with pytest.raises(VaultError) as caught:
            vault.decrypt(token, elsewhere)
        assert str(caught.value) == (
            f"cannot decrypt the stored secret of {elsewhere}: it was not encrypted for this place "
            "(copied from elsewhere?) or has been altered"
        )
        assert "hunter2" not in str(caught.value) and caught.value.__cause__ is None
        with pytest.raises(VaultError):
            vault.rotate_token(token, elsewhere)


def test_binding_parts_cannot_be_shifted() -> None:
    vault = Vault([new_key()])
    token = vault.encrypt({"a": 1}, Binding("t", "1", "2:3"))
    with pytest.raises(VaultError, match="not encrypted for this place"):
        vault.decrypt(token, Binding("t", "1:2", "3"))


def test_sealing_for_a_row_without_id_is_refused() -> None:
    with pytest.raises(VaultError, match="connections row that has no id yet"):
        Vault([new_key()]).encrypt({"a": 1}, Binding("connections", None, "secrets"))


def test_legacy_fernet_token_is_read_and_rotated_into_a_bound_token() -> None:
    old, new = new_key(), new_key()
    legacy = Fernet(old).encrypt(b'{"api_key": "abc"}').decode("ascii")  # what earlier releases stored
    vault = Vault([new, old])
    assert not Vault.is_current(legacy)
    assert vault.decrypt(legacy, B) == {"api_key": "abc"}
    rotated = vault.rotate_token(legacy, B)
    assert Vault.is_current(rotated)
    assert Vault([new]).decrypt(rotated, B) == {"api_key": "abc"}
    with pytest.raises(VaultError):
        Vault([new]).decrypt(rotated, Binding("connections", 2, "secrets"))


def test_legacy_check_token_still_verifies() -> None:
    key = new_key()
    legacy = Fernet(key).encrypt(b'{"integration-hub": "vault check", "version": 1}').decode("ascii")
    Vault([key]).verify_check(legacy)


def test_no_keys_is_refused() -> None:
    with pytest.raises(VaultError, match="at least one"):
        Vault([])


def test_bare_string_is_refused() -> None:
    with pytest.raises(VaultError, match="list"):
        Vault(new_key())  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["short", "x" * 44, "", "!" * 44])
def test_malformed_key_names_position_not_value(bad: str) -> None:
    keys = [new_key(), new_key(), bad]
    with pytest.raises(VaultError) as caught:
        Vault(keys)
    message = str(caught.value)
    assert "#3 of 3" in message
    if bad:
        assert bad not in message
    assert caught.value.__cause__ is None


def test_repr_hides_keys() -> None:
    key = new_key()
    vault = Vault([key, new_key()])
    text = repr(vault)
    assert key not in text
    assert key[:10] not in text
    assert text == "Vault(key_count=2)"
    assert str(vault) == text


def test_encrypt_refuses_non_objects_and_unserialisable() -> None:
    vault = Vault([new_key()])
    with pytest.raises(VaultError, match="JSON object"):
        vault.encrypt(["a"], B)  # type: ignore[arg-type]
    with pytest.raises(VaultError, match="JSON-serialisable"):
        vault.encrypt({"when": object()}, B)
    with pytest.raises(VaultError, match="JSON-serialisable"):
        vault.encrypt({"n": float("nan")}, B)


def test_check_token_verifies() -> None:
    old, new = new_key(), new_key()
    check = Vault([old]).check_token()
    Vault([old]).verify_check(check)
    Vault([new, old]).verify_check(check)


def test_verify_check_with_wrong_keys_refuses_to_start() -> None:
    check = Vault([new_key()]).check_token()
    with pytest.raises(VaultError, match="refusing to start"):
        Vault([new_key(), new_key()]).verify_check(check)


def test_verify_check_refuses_another_secret() -> None:
    vault = Vault([new_key()])
    with pytest.raises(VaultError, match="refusing to start"):
        vault.verify_check(vault.encrypt({"a": 1}, B))


# --- load_keys --------------------------------------------------------------------------------------


def test_load_keys_from_env(tmp_path: Path) -> None:
    a, b = new_key(), new_key()
    assert load_keys(f" {a} ,, {b},", tmp_path, allow_generate=True) == [a, b]
    assert not (tmp_path / KEYS_FILENAME).exists()


def test_env_wins_over_file(tmp_path: Path) -> None:
    env_key, file_key = new_key(), new_key()
    write_keys(tmp_path, [file_key])
    assert load_keys(env_key, tmp_path, allow_generate=False) == [env_key]


def test_env_with_only_commas_is_refused(tmp_path: Path) -> None:
    with pytest.raises(VaultError, match="HUB_VAULT_KEYS"):
        load_keys(" , ,", tmp_path, allow_generate=True)


def test_empty_env_counts_as_unset(tmp_path: Path) -> None:
    key = new_key()
    write_keys(tmp_path, [key])
    assert load_keys("", tmp_path, allow_generate=False) == [key]


def test_load_keys_from_file(tmp_path: Path) -> None:
    a, b = new_key(), new_key()
    path = tmp_path / KEYS_FILENAME
    path.write_text(f"{a}\n\n  {b}  \n", encoding="ascii")
    path.chmod(0o600)
    assert load_keys(None, tmp_path, allow_generate=False) == [a, b]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_open_key_file_is_refused(tmp_path: Path, mode: int) -> None:
    path = write_keys(tmp_path, [new_key()], mode)
    with pytest.raises(VaultError, match="chmod 600") as caught:
        load_keys(None, tmp_path, allow_generate=True)
    assert str(path) in str(caught.value)


def test_empty_key_file_is_refused_not_replaced(tmp_path: Path) -> None:
    write_keys(tmp_path, [])
    with pytest.raises(VaultError, match="holds no keys"):
        load_keys(None, tmp_path, allow_generate=True)


def test_generation_creates_private_file(tmp_path: Path) -> None:
    home = tmp_path / "fresh" / "home"
    keys = load_keys(None, home, allow_generate=True)
    assert len(keys) == 1
    Vault(keys)
    path = home / KEYS_FILENAME
    assert mode_of(path) == 0o600
    assert mode_of(home) == 0o700
    assert path.read_text(encoding="ascii") == f"{keys[0]}\n"
    assert load_keys(None, home, allow_generate=True) == keys
    assert load_keys(None, home, allow_generate=False) == keys


def test_generation_ignores_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        keys = load_keys(None, tmp_path / "home", allow_generate=True)
    finally:
        os.umask(previous)
    assert mode_of(tmp_path / "home" / KEYS_FILENAME) == 0o600
    assert load_keys(None, tmp_path / "home", allow_generate=False) == keys


def test_missing_key_without_generation_is_refused(tmp_path: Path) -> None:
    with pytest.raises(VaultError) as caught:
        load_keys(None, tmp_path, allow_generate=False)
    message = str(caught.value)
    assert message.startswith("no vault key: set HUB_VAULT_KEYS or restore ")
    assert str(tmp_path / KEYS_FILENAME) in message
    assert "refusing to generate" in message
    assert not (tmp_path / KEYS_FILENAME).exists()


# --- add_new_key ------------------------------------------------------------------------------------


def test_add_new_key_prepends_and_stays_private(tmp_path: Path) -> None:
    first = load_keys(None, tmp_path, allow_generate=True)
    old_token = Vault(first).encrypt({"a": 1}, B)

    fingerprint = add_new_key(tmp_path)

    keys = load_keys(None, tmp_path, allow_generate=False)
    assert len(keys) == 2
    assert keys[1:] == first
    assert fingerprint == key_fingerprint(keys[0])
    assert keys[0] not in fingerprint
    assert mode_of(tmp_path / KEYS_FILENAME) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [KEYS_FILENAME]

    vault = Vault(keys)
    rotated = vault.rotate_token(old_token, B)
    assert Vault(keys[:1]).decrypt(rotated, B) == {"a": 1}


def test_add_new_key_without_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(VaultError, match="HUB_VAULT_KEYS"):
        add_new_key(tmp_path)
    assert not (tmp_path / KEYS_FILENAME).exists()


def test_add_new_key_refuses_open_file(tmp_path: Path) -> None:
    path = write_keys(tmp_path, [new_key()], 0o644)
    before = path.read_text(encoding="ascii")
    with pytest.raises(VaultError, match="chmod 600"):
        add_new_key(tmp_path)
    assert path.read_text(encoding="ascii") == before


def test_generation_race_uses_the_winners_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hub.vault

    winner = new_key()
    real_read = hub.vault._read_key_file
    calls = []

    def read_then_lose_race(path: Path) -> list[str] | None:
        calls.append(path)
        if len(calls) == 1:
            write_keys(tmp_path, [winner])  # another process creates the file after our first look
            return None
        return real_read(path)

    monkeypatch.setattr(hub.vault, "_read_key_file", read_then_lose_race)
    assert load_keys(None, tmp_path, allow_generate=True) == [winner]
    assert (tmp_path / KEYS_FILENAME).read_text(encoding="ascii") == f"{winner}\n"


def test_generation_failure_is_a_vault_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(VaultError, match=r"cannot (open|create)"):
        load_keys(None, blocker / "home", allow_generate=True)


def test_key_fingerprint_is_short_and_stable() -> None:
    key = new_key()
    assert key_fingerprint(key) == key_fingerprint(key)
    assert len(key_fingerprint(key)) == 12
    assert key_fingerprint(key) != key_fingerprint(new_key())
