"""Fixtures for scale-out tests: a PostgreSQL schema per test and the real brokers on this machine.

HUB_TEST_DATABASE_URL (PostgreSQL), HUB_TEST_BROKER_URL (Redis, e.g. redis://127.0.0.1:6379/15) and
HUB_TEST_AMQP_URL (RabbitMQ, e.g. amqp://guest:guest@127.0.0.1:5672//) point at the services;
HUB_TEST_QUEUE_PREFIX (default `hub.test.`) prefixes the queue each test makes.
A missing one skips its tests with the reason, except on CI (CI=true), where it fails them.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import ON_CI, _pg_schema_url

BROKERS = {"redis": "HUB_TEST_BROKER_URL", "amqp": "HUB_TEST_AMQP_URL"}
BROKER_NAMES = {"redis": "a Redis broker", "amqp": "a RabbitMQ broker"}


def require(variable: str, what: str) -> str:
    value = os.environ.get(variable)
    if not value:
        if ON_CI:
            pytest.fail(f"CI must set {variable} so the scale-out tests run against {what}")
        pytest.skip(f"{variable} is not set: these tests need {what}")
    return value


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    yield from _pg_schema_url()


@pytest.fixture(params=sorted(BROKERS))
def broker_url(request: pytest.FixtureRequest) -> str:
    """Each test runs once on Redis and once on RabbitMQ."""
    return require(BROKERS[request.param], BROKER_NAMES[request.param])


@pytest.fixture
def queue_name() -> str:
    """A queue of this test's own, so tests sharing a broker never take each other's messages
    (HUB_TEST_QUEUE_PREFIX names them apart on a broker shared with others)."""
    return f"{os.environ.get('HUB_TEST_QUEUE_PREFIX') or 'hub.test.'}{uuid.uuid4().hex[:10]}"


def drop_queue(broker: str, queue: str) -> None:
    """Delete a test's queue and what the transport keeps beside it (RabbitMQ keeps durable queues;
    kombu's Redis transport keeps binding keys and priority sub-queues)."""
    try:
        if broker.startswith(("redis://", "rediss://")):
            import redis

            client = redis.Redis.from_url(broker)
            names = {queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"}
            names.update(client.scan_iter(match=f"{queue}*"))
            client.delete(*names)
            for tag, raw in client.hgetall("unacked").items():  # reserved by workers the test killed
                if json.loads(raw)[-1] == queue:  # [message, exchange, routing key]
                    client.hdel("unacked", tag)
                    client.zrem("unacked_index", tag)
            client.close()
            return
        from kombu import Connection

        with Connection(broker, connect_timeout=5) as connection:
            connection.default_channel.queue_delete(queue)
    except Exception:  # cleanup only: the queue name is unique to the test anyway
        pass
