"""CPU of one webhook and its run in one thread of one process, for comparing small changes.

    .venv/bin/python -m bench.inproc                        # 2,000 events, writes group-committed
    .venv/bin/python -m bench.inproc --direct-writes        # each write a transaction of its own
    .venv/bin/python -m bench.inproc --profile out.pstat    # and a cProfile of them (much slower)

The relay under load (bench.run) moves ±15-30% from one run to the next on a shared 2-core
machine, more than most single changes are worth. This drives the relay's recipe (webhook →
http.request POSTing to bench.sink) through the WSGI app with no server and no load generator,
executes each run inline (InlineExecutor), and reports the process's CPU per event. Compare the
medians of interleaved runs of two checkouts, each pinned to one CPU (`taskset -c 1`).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet
from werkzeug.test import EnvironBuilder

from bench.procs import free_port, wait_http
from bench.workload import EVENT, relay_recipe

ROOT = Path(__file__).resolve().parent.parent


def relay(sink_url: str, home: Path, direct_writes: bool) -> tuple[Callable[[], None], Callable[[], None]]:
    """(send one webhook and execute its run, close)."""
    os.environ.update(
        HUB_HOME=str(home),
        HUB_VAULT_KEYS=Fernet.generate_key().decode(),
        HUB_ALLOW_PRIVATE_NETWORK="1",
        HUB_BASE_URL="http://127.0.0.1:8000",
    )
    from hub.app import create_app
    from hub.config import Settings
    from hub.engine.executor import InlineExecutor
    from hub.recipe_store import hook_urls, save_recipe
    from hub.runtime import Runtime

    rt = Runtime.create(Settings.from_env())
    if direct_writes:
        rt.db._committer = None  # each write a transaction of its own, in the caller's thread
    rt.executor = InlineExecutor(rt)
    with rt.db.transaction() as session:
        recipe = save_recipe(session, rt, relay_recipe("inproc", sink_url), actor="bench")
        path = "/hooks/" + hook_urls(session, rt, recipe)["webhook_url"].split("/hooks/")[1]
    app = create_app(rt)
    body = json.dumps(EVENT).encode()
    request = EnvironBuilder(path=path, method="POST", data=body, content_type="application/json")
    environ = request.get_environ()  # built once: each event gets a copy with its own body stream

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if not status.startswith("202"):
            raise RuntimeError(f"the webhook was answered {status}")
        return None

    def one() -> None:
        b"".join(app({**environ, "wsgi.input": io.BytesIO(body)}, start_response))

    return one, rt.close


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--direct-writes", action="store_true", help="no group commit")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the measured events here")
    args = parser.parse_args()

    port = free_port()
    sink = subprocess.Popen([sys.executable, "-m", "bench.sink", str(port)], cwd=ROOT)
    try:
        wait_http(f"http://127.0.0.1:{port}/stats")
        with tempfile.TemporaryDirectory() as home:
            one, close = relay(f"http://127.0.0.1:{port}", Path(home), args.direct_writes)
            try:
                for _ in range(args.warmup):
                    one()
                profile = cProfile.Profile() if args.profile else None
                if profile:
                    profile.enable()
                cpu, thread, wall = time.process_time(), time.thread_time(), time.perf_counter()
                for _ in range(args.events):
                    one()
                cpu, thread = time.process_time() - cpu, time.thread_time() - thread
                wall = time.perf_counter() - wall
            finally:
                close()
        delivered = requests.get(f"http://127.0.0.1:{port}/stats", timeout=5).json()["unique_keys"]
        if delivered != args.warmup + args.events:
            raise SystemExit(f"the sink saw {delivered} deliveries of {args.warmup + args.events} events")
    finally:
        sink.terminate()
        sink.wait(10)
    per = 1e6 / args.events
    line = f"process CPU {cpu * per:.0f} µs/event, this thread {thread * per:.0f}, wall {wall * per:.0f}"
    if profile:
        profile.disable()
        profile.dump_stats(args.profile)
        calls = sum(row[1] for row in pstats.Stats(profile).stats.values())  # type: ignore[attr-defined]
        line += f", {calls / args.events:.0f} Python calls/event (profile in {args.profile})"
    print(line)


if __name__ == "__main__":
    main()
