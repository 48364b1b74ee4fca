"""`hub serve` as a real process: API-created recipe relays templated webhooks to a sink exactly once,
a kill -9 mid-flight loses nothing and repeats nothing, and `/metrics` sums every serving process."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.multiprocess import MultiProcessCollector

from tests.e2e.harness import HubProcess, Sink, relay_recipe, runs, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.close()


def test_api_recipe_relays_every_templated_webhook_exactly_once(tmp_path: Path, sink: Sink) -> None:
    """By default one process per CPU serves (`/metrics` still counts all 40 webhooks)."""
    hub = HubProcess(tmp_path / "home")
    hub.start()
    try:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        wait_until(lambda: len(hub.serving_pids()) == cpus, what="one process per CPU listening")
        headers = hub.admin_headers()
        created = requests.post(
            f"{hub.url}/api/v1/recipes", json=relay_recipe(sink.url), headers=headers, timeout=10
        )
        assert created.status_code == 201, created.text
        hook = created.json()["webhook_url"]
        for n in range(40):
            stage = "won" if n % 4 else "lost"
            deal = {"deal": {"id": f"D-{n}", "stage": stage, "amount": n * 100 + 0.5, "owner": "li"}}
            answer = requests.post(hook, json=deal, timeout=10)
            assert answer.status_code == 202, answer.text
        assert (
            requests.post(hook, json={"deal": {"id": "D-1", "stage": "won"}}, timeout=10).status_code == 200
        )
        wait_until(lambda: len(sink.requests) >= 30, what="30 deliveries")
        wait_until(
            lambda: all(r["status"] in ("succeeded", "filtered") for r in runs(hub, headers)),
            what="runs to finish",
        )
        assert len(sink.requests) == 30
        assert sorted(sink.by_key) == sorted({r["key"] for r in sink.requests})
        bodies = {r["body"]["deal"]: r["body"] for r in sink.requests}
        assert bodies["D-5"] == {"deal": "D-5", "amount": 500.5, "title": "Deal D-5 won by LI"}
        statuses = [r["status"] for r in runs(hub, headers)]
        assert statuses.count("succeeded") == 30 and statuses.count("filtered") == 10
        metrics = requests.get(f"{hub.url}/metrics", timeout=10).text
        assert 'hub_webhooks_total{result="accepted"} 40.0' in metrics
    finally:
        hub.stop()


def _accepted(counter_file: Path, result: str = "accepted") -> float:
    """The webhooks one process counted with `result`, from its file in the shared metrics directory."""
    (family,) = [m for m in MultiProcessCollector.merge([str(counter_file)]) if m.name == "hub_webhooks"]
    return sum(s.value for s in family.samples if s.labels == {"result": result})


def _burst(hook: str, clients: int, each: int, tag: str) -> list[int]:
    """`clients` connections at once, each posting `each` deals: spread over every serving process."""
    start, answers = threading.Barrier(clients), []

    def client(n: int) -> None:
        with requests.Session() as session:  # one connection, held through the burst
            start.wait()
            for k in range(each):
                deal = {"deal": {"id": f"{tag}-{n}-{k}", "stage": "lost"}}
                answers.append(session.post(hook, json=deal, timeout=30).status_code)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_a_recipe_disabled_through_one_process_stops_taking_webhooks_in_every_one_at_once(
    tmp_path: Path, sink: Sink
) -> None:
    """Each process caches a hook's recipe; the others hear of a change through shared memory, not
    a second later (a disabled recipe took events meanwhile)."""
    hub = HubProcess(tmp_path / "home", HUB_PROCESSES="2")
    hub.start()
    try:
        wait_until(lambda: len(hub.serving_pids()) == 2, what="both processes listening")
        headers = hub.admin_headers()
        created = requests.post(
            f"{hub.url}/api/v1/recipes", json=relay_recipe(sink.url), headers=headers, timeout=10
        ).json()
        assert _burst(created["webhook_url"], 16, 3, "warm") == [202] * 48
        disable = f"{hub.url}/api/v1/recipes/{created['id']}/disable"
        disabled = requests.post(disable, headers=headers, timeout=10)
        assert disabled.status_code == 200, disabled.text
        assert _burst(created["webhook_url"], 16, 3, "late") == [404] * 48
        (shared,) = Path(hub.env["TMPDIR"]).glob("hub-metrics-*")
        files = list(shared.glob("counter_*.db"))
        assert len(files) == 2 and all(_accepted(f) and _accepted(f, "unknown") for f in files)  # both
    finally:
        hub.stop()


def test_two_processes_answer_metrics_with_the_sum_of_both_and_remove_their_files(
    tmp_path: Path, sink: Sink
) -> None:
    """A burst of keep-alive clients connecting at once lands on both processes (the accept balance);
    `/metrics` counts every webhook of both, and the shared directory goes when the hub stops."""
    hub = HubProcess(tmp_path / "home", HUB_PROCESSES="2")
    hub.start()
    temp = Path(hub.env["TMPDIR"])
    try:
        wait_until(lambda: len(hub.serving_pids()) == 2, what="both processes listening")
        headers = hub.admin_headers()
        created = requests.post(
            f"{hub.url}/api/v1/recipes", json=relay_recipe(sink.url), headers=headers, timeout=10
        )
        hook = created.json()["webhook_url"]
        clients, each = 24, 10
        assert _burst(hook, clients, each, "B") == [202] * (clients * each)
        (shared,) = temp.glob("hub-metrics-*")
        counted = {int(path.stem.split("_")[1]): _accepted(path) for path in shared.glob("counter_*.db")}
        assert set(counted) == hub.serving_pids() and all(counted.values()), counted  # both served
        for _ in range(2):  # whichever process answers
            scrape = requests.get(f"{hub.url}/metrics", timeout=10).text
            assert scrape.count('hub_webhooks_total{result="accepted"} ') == 1
            assert f'hub_webhooks_total{{result="accepted"}} {float(clients * each)}' in scrape
    finally:
        hub.stop()
    assert hub.process is not None and hub.process.returncode is not None
    assert not shared.exists() and not list(temp.glob("hub-metrics-*"))


@pytest.mark.parametrize("processes", [1, 2])
def test_kill_9_mid_flight_loses_nothing_and_repeats_nothing(tmp_path: Path, processes: int) -> None:
    """With --processes 2 the kill hits the parent; its forked sibling must die with it."""
    sink = Sink(delay_s=0.05)
    sink.items = [{"id": f"item-{n}", "n": n} for n in range(300)]
    hub = HubProcess(tmp_path / "home", HUB_WORKERS="4", HUB_PROCESSES=str(processes))
    hub.start()
    if processes > 1:
        wait_until(lambda: len(hub.serving_pids()) == processes, what="every process listening")
    accepted: list[str] = []
    try:
        headers = hub.admin_headers()
        relay = requests.post(
            f"{hub.url}/api/v1/recipes", json=relay_recipe(sink.url), headers=headers, timeout=10
        )
        hook = relay.json()["webhook_url"]
        poll = {
            "name": "poll items",
            "trigger": {
                "connector": "http",
                "trigger": "poll_json",
                "config": {"url": f"{sink.url}/items", "items_path": "data.items", "id_field": "id"},
                "start": {"backfill_from": "2020-01-01T00:00:00+00:00"},
                "interval_s": 10,
            },
            "steps": [
                {
                    "id": "fwd",
                    "connector": "http",
                    "action": "request",
                    "input": {
                        "method": "POST",
                        "url": f"{sink.url}/items-seen",
                        "json": {"item": "{{ event.id }}"},
                    },
                }
            ],
        }
        assert (
            requests.post(f"{hub.url}/api/v1/recipes", json=poll, headers=headers, timeout=10).status_code
            == 201
        )

        def post(n: int) -> None:
            try:
                answer = requests.post(
                    hook,
                    json={"deal": {"id": f"K-{n}", "stage": "won", "amount": n, "owner": "x"}},
                    timeout=10,
                )
            except requests.RequestException:
                return
            if answer.status_code == 202:
                accepted.append(f"K-{n}")

        threads = [threading.Thread(target=post, args=(n,)) for n in range(120)]
        for thread in threads[:80]:
            thread.start()
        wait_until(lambda: len(sink.requests) >= 10, what="deliveries in flight")
        hub.kill()
        for thread in threads[:80]:
            thread.join()
        hub.start()
        for thread in threads[80:]:
            thread.start()
        for thread in threads[80:]:
            thread.join()
        wait_until(
            lambda: {r["body"]["deal"] for r in sink.requests if r["path"] == "/deals"} >= set(accepted),
            timeout_s=90,
            what="every accepted event delivered",
        )
        wait_until(
            lambda: len({r["body"]["item"] for r in sink.requests if r["path"] == "/items-seen"}) == 300,
            timeout_s=90,
            what="every poll item delivered",
        )
        wait_until(
            lambda: all(r["status"] == "succeeded" for r in runs(hub, headers)),
            timeout_s=60,
            what="runs done",
        )
        all_runs = runs(hub, headers)
        relay_runs = [r for r in all_runs if r["recipe_id"] == relay.json()["id"]]
        run_deals = [r["event"]["deal"]["id"] for r in relay_runs]
        assert len(run_deals) == len(set(run_deals))  # exactly one run per event
        assert set(run_deals) >= set(accepted)  # every acknowledged event has its run
        deliveries = [r for r in sink.requests if r["path"] == "/deals"]
        assert len({r["key"] for r in deliveries}) == len(
            relay_runs
        )  # each delivered once by idempotency key
        assert {r["body"]["deal"] for r in deliveries} == set(run_deals)
        item_keys = {r["key"] for r in sink.requests if r["path"] == "/items-seen"}
        assert len(item_keys) == 300 == len(all_runs) - len(relay_runs)  # each poll item taken once
    finally:
        hub.stop()
        sink.close()


def _affinities(pid: int) -> set[frozenset[int]]:
    """The CPU sets of every thread of `pid`."""
    return {frozenset(os.sched_getaffinity(int(tid))) for tid in os.listdir(f"/proc/{pid}/task")}


@pytest.mark.parametrize("pin", ["1", "0"])
def test_each_process_and_all_its_threads_are_held_to_a_cpu_of_its_own(tmp_path: Path, pin: str) -> None:
    """Under HUB_PIN_CPUS=1 the two processes sit on the first two CPUs the hub may use (one each),
    and so does every thread they started; under 0 they float on all of them."""
    allowed = sorted(os.sched_getaffinity(0))
    hub = HubProcess(tmp_path / "home", HUB_PROCESSES="2", HUB_PIN_CPUS=pin)
    hub.start()
    try:
        wait_until(lambda: len(hub.serving_pids()) == 2, what="both processes listening")
        held = {pid: _affinities(pid) for pid in hub.serving_pids()}
        if pin == "0":
            assert all(sets == {frozenset(allowed)} for sets in held.values()), held
            return
        assert all(len(sets) == 1 and len(next(iter(sets))) == 1 for sets in held.values()), held
        cpus = {cpu for sets in held.values() for cpu in next(iter(sets))}
        assert cpus == set(allowed[:2]), held  # one CPU each where there are two
        assert all(len(os.listdir(f"/proc/{pid}/task")) > 4 for pid in held)  # its threads were counted
    finally:
        hub.stop()
