"""Two worker processes over one database ask for a vendor token at the same moment: the shared
token cache (hub.engine.stores.DbTokenCache) must let only one of them call the vendor.

`race(...)` starts the processes; each runs `child` (this module as a script), which opens its own
Runtime on the database, builds the connection's Context as a worker would and calls the
connector's token function, printing what it got."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from hub.config import Settings
from hub.connections import create_connection
from hub.engine.contexts import build_context
from hub.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]


def race(
    settings: Settings, connector_id: str, connection: str, token_function: str, count: int = 2
) -> list[str]:
    """The token each of `count` processes got from `token_function` ("module:function")."""
    job = json.dumps(
        {
            "home": str(settings.home),
            "database_url": settings.database_url,
            "vault_keys": settings.vault_keys,
            "connector": connector_id,
            "connection": connection,
            "function": token_function,
        }
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.connectors.token_race", job],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    tokens = []
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        tokens.append(out.strip().splitlines()[-1])
    return tokens


def race_on_new_connection(
    runtime: Runtime, connector_id: str, config: dict[str, Any], token_function: str
) -> list[str]:
    """Store a connection (named after the connector) with `config`, then `race` on it."""
    with runtime.db.transaction() as session:
        create_connection(
            session,
            runtime.registry,
            runtime.vault,
            name=connector_id,
            connector_id=connector_id,
            config=config,
        )
    return race(runtime.settings, connector_id, connector_id, token_function)


def child(job: dict[str, str]) -> str:
    settings = Settings(
        home=Path(job["home"]),
        database_url=job["database_url"],
        vault_keys=job["vault_keys"],
        allow_private_network=True,
    )
    runtime = Runtime.create(settings, migrate=False)
    try:
        connector = runtime.registry.get(job["connector"])
        ctx = build_context(runtime, connector, job["connection"])
        module, name = job["function"].split(":")
        return str(getattr(importlib.import_module(module), name)(ctx))
    finally:
        runtime.close()


if __name__ == "__main__":
    print(child(json.loads(sys.argv[1])))
