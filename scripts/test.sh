#!/usr/bin/env bash
# Install the test dependencies into .venv and run the whole suite: lint, then every test.
# Set HUB_TEST_DATABASE_URL (PostgreSQL) to run the storage tests on PostgreSQL too.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy hub connectors examples/acme_crm/acme_crm
.venv/bin/python -m pytest "$@"
