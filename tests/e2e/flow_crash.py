"""What the flow crash tests share (hub serve on SQLite and PostgreSQL, Celery workers): the recipes
and the exactly-once check by idempotency key."""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import Sink

ITEMS = 200
BRANCH_ITEMS = 100


def item_step(sink_url: str) -> dict[str, Any]:
    return {
        "id": "post",
        "connector": "http",
        "action": "request",
        "input": {"method": "POST", "url": f"{sink_url}/items", "json": {"item": "{{ item }}"}},
    }


def loop_recipe(sink_url: str) -> dict[str, Any]:
    """200 items, four at a time, each posted to the sink."""
    return {
        "name": "Two hundred items",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [
            {
                "id": "lines",
                "type": "for_each",
                "items": f"{{{{ range({ITEMS}) | list }}}}",
                "concurrency": 4,
                "max_items": ITEMS,
                "steps": [item_step(sink_url)],
            }
        ],
    }


def parallel_recipe(sink_url: str) -> dict[str, Any]:
    """One branch waits for an approval (a webhook event), the other posts 100 items; then a join."""
    return {
        "name": "Approval beside a loop",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "filter": "{{ event.kind == 'order' }}",  # approval events wake the wait, start nothing
        "steps": [
            {
                "id": "both",
                "type": "parallel",
                "branches": [
                    [
                        {
                            "id": "approved",
                            "type": "wait_for",
                            "connector": "webhook",
                            "trigger": "catch",
                            "match": {"kind": "approval", "order": "{{ event.order }}"},
                            "timeout_s": 600,
                        },
                        {
                            "id": "confirm",
                            "connector": "http",
                            "action": "request",
                            "input": {
                                "method": "POST",
                                "url": f"{sink_url}/confirm",
                                "json": {"by": "{{ steps.approved.by }}"},
                            },
                        },
                    ],
                    [
                        {
                            "id": "lines",
                            "type": "for_each",
                            "items": f"{{{{ range({BRANCH_ITEMS}) | list }}}}",
                            "concurrency": 2,
                            "steps": [item_step(sink_url)],
                        }
                    ],
                ],
            },
            {
                "id": "joined",
                "connector": "http",
                "action": "request",
                "input": {
                    "method": "POST",
                    "url": f"{sink_url}/joined",
                    "json": {"count": "{{ steps.lines.count }}"},
                },
            },
        ],
    }


def assert_each_item_once(sink: Sink, run_id: int, prefix: str, count: int) -> None:
    """Every item's effect reached the vendor under its own key, and no key carries another's item;
    a call cut off by the kill is repeated with the same key (the vendor dedupes it)."""
    with sink.lock:
        items = {key: body for key, body in sink.by_key.items() if key and ".post" in key}
        requests = [r for r in sink.requests if r["path"] == "/items"]
    assert set(items) == {f"{run_id}:{prefix}.{i}.post" for i in range(count)}
    for key, body in items.items():
        assert body == {"item": int(key.split(".")[-2])}, (key, body)
    assert count <= len(requests) <= count + 4  # at most the calls in flight at the kill, repeated
