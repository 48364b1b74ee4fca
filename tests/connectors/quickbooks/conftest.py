"""QuickBooks tests run on SQLite only: nothing here depends on the database engine."""

from __future__ import annotations

import pytest


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url
