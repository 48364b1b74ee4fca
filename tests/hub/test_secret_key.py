"""The generated session key: one per home, whole, even when processes start together."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from hub import config
from hub.config import Settings


def _slowly_made(size: int) -> str:
    time.sleep(0.3)
    return secrets.token_urlsafe(size)


def test_processes_starting_together_all_read_the_same_whole_key(tmp_path: Path) -> None:
    """Sixteen forked processes ask for the key of a fresh home; the first is slow to make it (the
    others ask meanwhile). Each reports what it read."""
    settings = Settings.from_env({"HUB_HOME": str(tmp_path / "home")})
    readers = []
    for n in range(16):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: read the key (or the error) and leave at once
            os.close(read_end)
            if n == 0:
                config.secrets = SimpleNamespace(  # type: ignore[assignment]
                    token_urlsafe=_slowly_made, token_hex=secrets.token_hex
                )
            else:
                time.sleep(0.1)
            try:
                answer = settings.flask_secret_key()
            except Exception as exc:
                answer = f"error: {exc}"
            os.write(write_end, answer.encode())
            os._exit(0)
        os.close(write_end)
        readers.append((pid, read_end))
    keys = []
    for pid, read_end in readers:
        with os.fdopen(read_end, "rb") as pipe:
            keys.append(pipe.read().decode())
        os.waitpid(pid, 0)
    assert len(set(keys)) == 1 and len(keys[0]) >= 48, keys
    assert settings.flask_secret_key() == keys[0]
    home = tmp_path / "home"
    assert [p.name for p in home.iterdir() if "secret_key" in p.name] == ["secret_key"]  # none left aside
    assert (home / "secret_key").stat().st_mode & 0o777 == 0o600


def test_an_empty_key_file_is_refused_by_name(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret_key").write_text("")
    with pytest.raises(ValueError, match="secret_key is empty"):
        Settings.from_env({"HUB_HOME": str(home)}).flask_secret_key()


def test_hub_secret_key_wins_over_the_file(tmp_path: Path) -> None:
    settings = Settings.from_env({"HUB_HOME": str(tmp_path), "HUB_SECRET_KEY": "from-the-environment"})
    assert settings.flask_secret_key() == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()
