"""`hub web`, `hub worker` and `hub scheduler` as separate processes on one database."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests

from tests.e2e.harness import HUB, HubProcess, Sink, relay_recipe, wait_until

pytestmark = pytest.mark.e2e


def test_web_accepts_worker_executes_scheduler_polls(tmp_path: Path) -> None:
    sink = Sink()
    sink.items = [{"id": "a"}, {"id": "b"}]
    web = HubProcess(tmp_path / "home")
    env = dict(web.env)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        web.cli("init")
        log = (tmp_path / "procs.log").open("ab")
        procs.append(
            subprocess.Popen([*HUB, "web", "--port", str(web.port)], env=env, stdout=log, stderr=log)
        )
        wait_until(lambda: _healthy(web.url), what="hub web")
        headers = web.admin_headers()
        hook = requests.post(
            f"{web.url}/api/v1/recipes", json=relay_recipe(sink.url), headers=headers, timeout=10
        ).json()
        poll = {
            "name": "poll",
            "steps": [],
            "trigger": {
                "connector": "http",
                "trigger": "poll_json",
                "interval_s": 10,
                "config": {"url": f"{sink.url}/items", "items_path": "data.items", "id_field": "id"},
                "start": {"backfill_from": "2020-01-01T00:00:00Z"},
            },
        }
        assert (
            requests.post(f"{web.url}/api/v1/recipes", json=poll, headers=headers, timeout=10).status_code
            == 201
        )
        for n in range(5):
            deal = {"deal": {"id": f"S-{n}", "stage": "won", "amount": n, "owner": "x"}}
            assert requests.post(hook["webhook_url"], json=deal, timeout=10).status_code == 202
        runs = requests.get(f"{web.url}/api/v1/runs", headers=headers, timeout=10).json()["runs"]
        assert {r["status"] for r in runs} == {"queued"}  # the web process only stores and acknowledges
        procs.append(subprocess.Popen([*HUB, "worker"], env=env, stdout=log, stderr=log))
        procs.append(subprocess.Popen([*HUB, "scheduler"], env=env, stdout=log, stderr=log))
        wait_until(
            lambda: len({r["key"] for r in sink.requests}) == 5, timeout_s=60, what="worker deliveries"
        )

        def polled() -> bool:
            runs = requests.get(f"{web.url}/api/v1/runs?limit=200", headers=headers, timeout=10).json()[
                "runs"
            ]
            return len(runs) == 7 and all(r["status"] == "succeeded" for r in runs)

        wait_until(polled, timeout_s=60, what="scheduler poll and worker runs")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        sink.close()


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False
