"""The relay workload shared by the hub recipe and the bare ceiling, so both do the same work."""

from __future__ import annotations

from typing import Any

EVENT: dict[str, Any] = {
    "deal": {
        "id": "D-1001",
        "stage": "won",
        "amount": "12800.00",
        "owner": "Li.Lei@example.com",
        "customer": "Acme Trading Co.",
    }
}

BODY_TEMPLATE: dict[str, str] = {
    "deal_id": "{{ event.deal.id }}",
    "amount": "{{ event.deal.amount }}",
    "owner": "{{ event.deal.owner | lower }}",
    "title": "Deal {{ event.deal.id }} won by {{ event.deal.customer }}",
}


def relay_recipe(name: str, sink_url: str) -> dict[str, Any]:
    """Webhook -> http.request POSTing the templated body to the sink."""
    return {
        "name": name,
        "enabled": True,
        "trigger": {"connector": "webhook", "trigger": "catch"},
        "steps": [
            {
                "id": "post",
                "connector": "http",
                "action": "request",
                "input": {"method": "POST", "url": f"{sink_url}/ingest", "json": BODY_TEMPLATE},
            }
        ],
    }


def polling_recipe(name: str, sink_url: str, interval_s: int) -> dict[str, Any]:
    """http.poll_json on the stand-in, each new item POSTed to the sink."""
    return {
        "name": name,
        "enabled": True,
        "trigger": {
            "connector": "http",
            "trigger": "poll_json",
            "interval_s": interval_s,
            "config": {"url": f"{sink_url}/items", "items_path": "items", "id_field": "id"},
        },
        "steps": [
            {
                "id": "post",
                "connector": "http",
                "action": "request",
                "input": {"method": "POST", "url": f"{sink_url}/ingest", "json": {"item": "{{ event.id }}"}},
            }
        ],
    }
