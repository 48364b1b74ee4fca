"""A scale-out deployment on 127.0.0.1 under fire: 2 `hub web`, 3 Celery `hub worker`, 2 `hub scheduler`
over PostgreSQL and Redis. 2,000 webhooks are posted concurrently across both web processes while a
polling trigger keeps producing items; midway one worker and the leading scheduler get SIGKILL.
In the end every event has exactly one succeeded run, the sink saw each delivery once by idempotency
key, and every poll item was taken once."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from hub.db.models import Event, Run, SeenItem
from tests.conftest import _pg_schema_url
from tests.e2e.harness import Sink, relay_recipe, wait_until
from tests.scale.cluster import Cluster, Proc, bootstrap
from tests.scale.conftest import BROKER_NAMES, BROKERS, drop_queue, require
from tests.scale.sinks import TimingSink

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

WEBHOOKS = 2000
ITEMS_PER_TICK = 10


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _pg_schema_url()


def test_cluster_survives_killed_worker_and_leader(tmp_path: Path, pg_url: str) -> None:
    redis_url = require(BROKERS["redis"], BROKER_NAMES["redis"])
    queue_name = f"hub.test.cluster.{uuid.uuid4().hex[:8]}"
    sink = Sink(delay_s=0.02)  # a vendor taking 20 ms, so calls are in flight when the worker dies
    listing = TimingSink()  # the polled vendor list; it records when each poll came
    cluster = Cluster(tmp_path / "home", pg_url, redis_url, queue_name, {"HUB_WORKERS": "6"})
    feeding = threading.Event()
    try:
        headers = bootstrap(cluster)
        webs = [cluster.start("web"), cluster.start("web")]
        schedulers = [cluster.start("scheduler"), cluster.start("scheduler")]
        workers = [cluster.start("worker") for _ in range(3)]
        for worker in workers:
            cluster.wait_worker_ready(worker)
        relay = requests.post(
            f"{webs[0].url}/api/v1/recipes", json=relay_recipe(sink.url), headers=headers, timeout=30
        ).json()
        poll = _create_poll_recipe(webs[1].url, headers, listing.url, sink.url)
        hooks = [relay["webhook_url"], relay["webhook_url"].replace(webs[0].url, webs[1].url)]
        leader = _wait_for_leader(cluster)

        feeding.set()
        feeder = threading.Thread(target=_feed_items, args=(listing, feeding), daemon=True)
        feeder.start()
        accepted: list[str] = []
        lock = threading.Lock()

        def post(n: int) -> None:
            deal = {"deal": {"id": f"C-{n}", "stage": "won", "amount": n, "owner": "x"}}
            answer = requests.post(hooks[n % 2], json=deal, timeout=60)
            assert answer.status_code == 202, answer.text
            with lock:
                accepted.append(f"C-{n}")

        with ThreadPoolExecutor(max_workers=24) as pool:
            futures = [pool.submit(post, n) for n in range(WEBHOOKS)]
            wait_until(lambda: len(accepted) >= WEBHOOKS // 2, timeout_s=120, what="half the webhooks")
            wait_until(lambda: len(sink.requests) >= 100, timeout_s=120, what="deliveries under way")
            wait_until(lambda: _runs_held_by(cluster, workers[0]) > 0, timeout_s=30, what="a busy worker")
            cluster.kill(workers[0])  # mid-run: its runs hold leases and unacknowledged messages
            cluster.kill(leader)  # the leading scheduler, mid-poll-interval
            killed_at = time.monotonic()
            survivor = next(s for s in schedulers if s is not leader)
            wait_until(lambda: cluster.leader() is survivor, timeout_s=15, what="the other scheduler to lead")
            takeover_s = time.monotonic() - killed_at
            for future in futures:
                future.result()
        assert len(accepted) == WEBHOOKS
        assert takeover_s < 3 + 1 + 4  # HUB_SCHEDULER_LEASE_S + one renewal interval + slack for load
        time.sleep(2)  # a few more items for the new leader
        feeding.clear()
        feeder.join()
        fed = {item["id"] for item in listing.items}

        def done() -> bool:
            with cluster.db.transaction() as session:
                taken = session.scalar(select(func.count()).select_from(SeenItem))
                unfinished = session.scalar(select(func.count()).where(Run.status != "succeeded"))
            return taken == len(fed) and unfinished == 0

        wait_until(done, timeout_s=180, what="every run to finish and every item to be taken")

        with cluster.db.transaction() as session:
            rows = session.execute(
                select(Event.recipe_id, Event.dedupe_key, Run.id, Run.status).join(
                    Run, Run.event_id == Event.id
                )
            ).all()
            events = session.execute(select(Event.recipe_id, Event.id)).all()
        runs_per_event: dict[str, list[str]] = defaultdict(list)
        for recipe_id, key, _run_id, status in rows:
            runs_per_event[f"{recipe_id}:{key}"].append(status)
        assert len(events) == WEBHOOKS + len(fed) == len(runs_per_event)
        assert all(statuses == ["succeeded"] for statuses in runs_per_event.values())  # one run each
        assert Counter(recipe_id for recipe_id, _ in events) == {relay["id"]: WEBHOOKS, poll: len(fed)}

        deliveries = [r for r in sink.requests if r["path"] == "/deals"]
        bodies: dict[str, set[str]] = defaultdict(set)
        for request in deliveries:
            bodies[request["key"]].add(request["body"]["deal"])
        assert len(bodies) == WEBHOOKS  # each event delivered under one idempotency key
        assert all(len(deals) == 1 for deals in bodies.values())
        assert {deal for deals in bodies.values() for deal in deals} == set(accepted)
        repeats = len(deliveries) - WEBHOOKS  # calls the killed worker had in flight, sent again
        assert 0 <= repeats <= 6, repeats
        seen = [r for r in sink.requests if r["path"] == "/items-seen"]
        assert {r["body"]["item"] for r in seen} == fed
        assert len({r["key"] for r in seen}) == len(fed)  # every poll item taken once
        # One scheduler polls at a time: one poll per 10 s interval (and one more across the
        # takeover), where two leaders would poll about twice as often.
        polls = sorted(listing.polls)
        assert len(polls) <= (polls[-1] - polls[0]) / 10 + 2, polls
        print(
            f"\ncluster: {WEBHOOKS} webhooks + {len(fed)} poll items; {repeats} repeated call(s) after "
            f"the kill; leader takeover in {takeover_s:.1f} s; {len(polls)} polls"
        )
    finally:
        feeding.clear()
        cluster.stop()
        sink.close()
        listing.close()
        drop_queue(redis_url, queue_name)


def _create_poll_recipe(web_url: str, headers: dict[str, str], list_url: str, sink_url: str) -> int:
    document = {
        "name": "poll items",
        "trigger": {
            "connector": "http",
            "trigger": "poll_json",
            "interval_s": 10,
            "config": {"url": f"{list_url}/items", "items_path": "data.items", "id_field": "id"},
            "start": {"backfill_from": "2020-01-01T00:00:00+00:00"},
        },
        "steps": [
            {
                "id": "fwd",
                "connector": "http",
                "action": "request",
                "input": {
                    "method": "POST",
                    "url": f"{sink_url}/items-seen",
                    "json": {"item": "{{ event.id }}"},
                },
            }
        ],
    }
    created = requests.post(f"{web_url}/api/v1/recipes", json=document, headers=headers, timeout=30)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _runs_held_by(cluster: Cluster, proc: Proc) -> int:
    """Runs a worker process is executing right now (lease owners are host:pid:nonce)."""
    with cluster.db.transaction() as session:
        owners = session.scalars(select(Run.lease_owner).where(Run.status == "running")).all()
    return sum(1 for owner in owners if owner and owner.split(":")[1] == str(proc.pid))


def _feed_items(listing: TimingSink, feeding: threading.Event) -> None:
    """The vendor's list grows while the cluster runs: 10 new items a second."""
    tick = 0
    while feeding.is_set():
        with listing.lock:
            listing.items.extend({"id": f"item-{tick}-{k}"} for k in range(ITEMS_PER_TICK))
        tick += 1
        time.sleep(1.0)


def _wait_for_leader(cluster: Cluster) -> Proc:
    found: list[Proc] = []

    def check() -> bool:
        leader = cluster.leader()
        if leader is not None:
            found.append(leader)
        return leader is not None

    wait_until(check, timeout_s=30, what="a scheduler to lead")
    return found[-1]
