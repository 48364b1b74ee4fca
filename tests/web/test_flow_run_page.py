"""The run page for flow steps: a loop's items and a branch's path taken, replay from an inner path."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.e2e.harness import Sink
from tests.web.helpers import csrf_token, sign_in


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.close()


def test_the_run_page_shows_items_and_the_path_taken_and_replays_from_a_path(
    web_app: Flask, sink: Sink
) -> None:
    client = web_app.test_client()
    sign_in(client, "ed@example.com")
    post = {"connector": "http", "action": "request"}
    doc = {
        "name": "Lines",
        "trigger": {"connector": "webhook", "trigger": "catch"},
        "steps": [
            {
                "id": "route",
                "type": "branch",
                "cases": [
                    {
                        "when": "{{ event.lines | length > 1 }}",
                        "steps": [{"id": "many", "type": "set", "values": {"n": 2}}],
                    }
                ],
                "default": [{"id": "one", "type": "set", "values": {"n": 1}}],
            },
            {
                "id": "lines",
                "type": "for_each",
                "items": "{{ event.lines }}",
                "steps": [
                    {
                        "id": "send",
                        **post,
                        "input": {
                            "method": "POST",
                            "url": f"{sink.url}/l/{{{{ item }}}}",
                            "json": {"i": "{{ loop.index }}"},
                        },
                    }
                ],
            },
        ],
    }
    token = csrf_token(client.get("/").text)
    saved = client.post(
        "/recipes/new", data={"csrf_token": token, "op": "save_raw", "format": "json", "raw": json.dumps(doc)}
    )
    assert saved.status_code == 302
    event = json.dumps({"lines": ["a", "b", "c", "d", "e"]})
    dry = client.post("/recipes/1/test", data={"csrf_token": token, "mode": "dry", "event": event})
    page = client.get(dry.headers["Location"]).text
    assert "5 item(s), 0 failed" in page and "/l/c" in page and "/l/d" not in page  # the first three
    assert sink.requests == []

    live = client.post("/recipes/1/test", data={"csrf_token": token, "mode": "live", "event": event})
    run_url = live.headers["Location"]
    page = client.get(run_url).text
    assert "Path taken: 0" in page and "route.0.many" in page
    assert "lines.4.send" in page and "item 4" in page and "5 item(s), 0 failed" in page
    assert [r["path"] for r in sink.requests] == [f"/l/{c}" for c in "abcde"]
    replay = client.post(f"{run_url}/replay", data={"csrf_token": token, "from_step": "lines.3.send"})
    assert replay.status_code == 302
    client.get(replay.headers["Location"])
    assert [r["path"] for r in sink.requests][5:] == ["/l/d", "/l/e"]  # items 0-2 kept, not repeated
